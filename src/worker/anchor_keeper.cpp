/*
 * anchor_keeper.cpp — see anchor_keeper.h.
 *
 * The tree: a block of 256 positions is stored (level 8) as soon as all of
 * them are sequenced, and every block it completes above it (level 9 when
 * its index is odd, and so on).  What is stored is derived from
 * log_positions alone, so the step can always take up where it stopped,
 * after a crash as after a restore (merkle_blocks is not dumped).
 *
 * A checkpoint: tree size = the last sequenced position, its root
 * (merkle_store.h), the ledger head there and the time, signed with the key
 * file (src/core/checkpoint.h) when one is configured.  The row and the
 * outbox message for the topic carry the same text (the jsonb form of the
 * checkpoint) and commit together, so the topic gets every checkpoint with
 * the outbox's guarantees.  The worker writes the outbox row itself:
 * eventstore.publish() refuses the checkpoint topic to everyone, so that
 * no role can put lines of its own among the checkpoints.
 *
 * The file gets the lines after they committed, each step appending
 * whatever the table has beyond the file's last checkpoint (found from the
 * file's tail when the process starts).  A line is never in the file
 * without being in the table: a crash before the commit would otherwise
 * leave a line whose number the next checkpoint takes with another time,
 * and the auditor two different checkpoints of one number.
 *
 * C-style glue with plain-data locals: every SPI call may ereport(ERROR).
 */
#include "anchor_keeper.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#include "core/checkpoint.h"
#include "core/merkle.h"
#include "job_transaction.h"
#include "shared_state.h"
#include "pg/errors.h"
#include "pg/event_hashing.h"
#include "pg/extension_relation.h"
#include "pg/gucs.h"
#include "pg/kept_plan.h"
#include "pg/merkle_store.h"

extern "C" {
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "storage/fd.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
}

namespace eventstore::worker {
namespace {

using pg::guarded_call;
using pg::kHashBytes;
using pg::KeptPlan;
using pg::run_kept_plan;

/* Blocks of 256 positions stored per transaction: 16,384 positions, a few tens of ms. */
constexpr int kBlocksPerTransaction = 64;

/*
 * How often the step looks at the log under a steady load: the projector's
 * rounds follow the sequencer's every few events, and two small queries a
 * round would cost appenders CPU for nothing (the books learned this:
 * period_keeper.cpp).  A checkpoint is then at most this much later than due.
 */
constexpr long kLookIntervalMs = 100;

KeptPlan stored_blocks_statement = {
    "SELECT coalesce(max(block_index) + 1, 0) FROM eventstore.merkle_blocks WHERE level = 8", 0, {}};
static_assert(kStoredLevel == 8, "stored_blocks_statement spells the level out");

KeptPlan insert_block_statement = {
    "INSERT INTO eventstore.merkle_blocks (level, block_index, hash) VALUES ($1, $2, $3)", 3,
    {INT2OID, INT8OID, BYTEAOID}};

KeptPlan last_checkpoint_statement = {
    "SELECT checkpoint, tree_size, (extract(epoch FROM pg_catalog.now() - created_at) * 1000)::bigint "
    "FROM eventstore.checkpoints ORDER BY checkpoint DESC LIMIT 1",
    0,
    {}};

KeptPlan utc_now_statement = {
    "SELECT pg_catalog.to_char(pg_catalog.now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')", 0, {}};

KeptPlan insert_checkpoint_statement = {
    "INSERT INTO eventstore.checkpoints "
    "  (checkpoint, tree_size, root_hash, ledger_head, created_at, key_id, public_key, signature, line) "
    "VALUES ($1, $2, $3, $4, pg_catalog.now(), $5, $6, $7, $8::jsonb::text) RETURNING line",
    8,
    {INT8OID, INT8OID, BYTEAOID, BYTEAOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID}};

KeptPlan publish_checkpoint_statement = {
    "INSERT INTO eventstore.outbox (topic, key, payload, headers) "
    "VALUES ($1, $2, $3::jsonb, '{\"ce_type\": \"pg_eventstore.checkpoint\"}'::jsonb)",
    3,
    {TEXTOID, TEXTOID, TEXTOID}};

KeptPlan lines_after_statement = {
    "SELECT checkpoint, line FROM eventstore.checkpoints WHERE checkpoint > $1 ORDER BY checkpoint LIMIT 1000", 1,
    {INT8OID}};

TimestampTz next_look = 0;

/* The checkpoint file as this process knows it: its path and its last checkpoint (-1: not read yet). */
struct CheckpointFile {
    char path[MAXPGPATH];
    int64 through;
    bool ends_inside_line;
};
CheckpointFile checkpoint_file = {"", -1, false};

/* A checkpoint as plain data, filled by the guarded signing step. */
struct SignedCheckpoint {
    char json[1024];
    char key_id[2 * kHashBytes + 1];
    char signature[256];
    char public_key[1024];
};

bool anchoring_installed() { return OidIsValid(pg::extension_relation("checkpoints")); }

void copy_text(char *buffer, std::size_t size, const std::string &text)
{
    if (text.size() >= size)
        throw std::length_error("checkpoint field too long");
    std::memcpy(buffer, text.c_str(), text.size() + 1);
}

void store_block(int level, int64 index, const uint8 *hash)
{
    Datum args[3] = {Int16GetDatum((int16)level), Int64GetDatum(index), PointerGetDatum(pg::hash_to_bytea(hash))};
    run_kept_plan(insert_block_statement, args, nullptr, false, 0, SPI_OK_INSERT);
}

/*
 * Left siblings stored by this transaction, one per level: the SPI lookups
 * of merkle_store.h read the snapshot the transaction began with, which
 * does not show blocks this transaction inserted.
 */
struct LeftSiblings {
    bool known[64];
    int64 index[64];
    uint8 hash[64][kHashBytes];
};

void remember_block(LeftSiblings *lefts, int level, int64 index, const uint8 *hash)
{
    if (index & 1)
        return;
    lefts->known[level] = true;
    lefts->index[level] = index;
    memcpy(lefts->hash[level], hash, kHashBytes);
}

void left_sibling(const LeftSiblings *lefts, int level, int64 index, uint8 *hash)
{
    if (lefts->known[level] && lefts->index[level] == index - 1) {
        memcpy(hash, lefts->hash[level], kHashBytes);
        return;
    }
    if (!pg::merkle_stored_block(level, index - 1, hash))
        ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
                        errmsg("pg_eventstore: Merkle block %lld of level %d is missing", (long long)index - 1, level)));
}

/* Stores the blocks that complete; returns true when more are ready than one transaction stores. */
bool extend_tree()
{
    run_kept_plan(stored_blocks_statement, nullptr, nullptr, false, 1, SPI_OK_SELECT);
    bool isnull;
    int64 next_block = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
    const int64 log_size = pg::sequenced_log_size();
    constexpr int64 kBlockPositions = int64{1} << kStoredLevel;
    LeftSiblings *lefts = (LeftSiblings *)palloc0(sizeof(LeftSiblings));
    for (int built = 0; built < kBlocksPerTransaction && (next_block + 1) * kBlockPositions <= log_size; built++) {
        uint8 hash[kHashBytes];
        pg::merkle_block_from_leaves(kStoredLevel, next_block, hash);
        store_block(kStoredLevel, next_block, hash);
        remember_block(lefts, kStoredLevel, next_block, hash);
        /* An odd block completes its parent with its left sibling, and so on up. */
        int level = kStoredLevel;
        int64 index = next_block;
        while (index & 1) {
            uint8 left[kHashBytes];
            left_sibling(lefts, level, index, left);
            guarded_call([&] {
                Digest left_digest;
                Digest right_digest;
                std::memcpy(left_digest.data(), left, kHashBytes);
                std::memcpy(right_digest.data(), hash, kHashBytes);
                const Digest parent = merkle_node_hash(left_digest, right_digest);
                std::memcpy(hash, parent.data(), kHashBytes);
            });
            level++;
            index >>= 1;
            store_block(level, index, hash);
            remember_block(lefts, level, index, hash);
        }
        next_block++;
    }
    pfree(lefts);
    return (next_block + 1) * kBlockPositions <= log_size;
}

/* Signs (when a key is configured) and renders the checkpoint. */
void sign_checkpoint(int64 number, int64 tree_size, const uint8 *root, const uint8 *ledger_head, const char *created_at,
                     SignedCheckpoint *out)
{
    const char *key_file = pg::guc_checkpoint_signing_key;
    const bool signing = key_file != nullptr && key_file[0] != '\0';
    if (signing)
        pg::check_signing_key_readable(key_file);
    guarded_call([&] {
        CheckpointStatement statement;
        statement.checkpoint = number;
        statement.tree_size = tree_size;
        std::memcpy(statement.root_hash.data(), root, kHashBytes);
        std::memcpy(statement.ledger_head.data(), ledger_head, kHashBytes);
        statement.created_at = created_at;
        std::string signature;
        out->key_id[0] = out->signature[0] = out->public_key[0] = '\0';
        if (signing) {
            const CheckpointSigner signer(key_file);
            statement.key_id = signer.key_id();
            signature = signer.sign_hex(checkpoint_signed_bytes(statement));
            copy_text(out->key_id, sizeof out->key_id, statement.key_id);
            copy_text(out->signature, sizeof out->signature, signature);
            copy_text(out->public_key, sizeof out->public_key, signer.public_key_pem());
        }
        copy_text(out->json, sizeof out->json, checkpoint_json(statement, signature));
    });
}

/*
 * The number of the last whole checkpoint line in the file, from its tail
 * (0 when there is none), and whether the file ends inside a line (a write
 * cut short by a crash or a full disk): that fragment is not counted, and
 * the next line starts on a line of its own.
 */
int64 last_checkpoint_in_file(const char *path, bool *ends_inside_line)
{
    *ends_inside_line = false;
    FILE *file = AllocateFile(path, "r");
    if (file == nullptr) {
        if (errno == ENOENT)
            return 0;
        ereport(ERROR, (errcode_for_file_access(), errmsg("could not open checkpoint file \"%s\": %m", path)));
    }
    char tail[8192];
    const long tail_bytes = (long)sizeof tail - 1;
    if (fseek(file, 0, SEEK_END) == 0) {
        const long size = ftell(file);
        fseek(file, size > tail_bytes ? size - tail_bytes : 0, SEEK_SET);
    }
    const size_t read = fread(tail, 1, tail_bytes, file);
    FreeFile(file);
    tail[read] = '\0';
    if (read > 0 && tail[read - 1] != '\n') {
        *ends_inside_line = true;
        char *last_newline = strrchr(tail, '\n');
        *(last_newline != nullptr ? last_newline + 1 : tail) = '\0';
    }
    /* jsonb's text form, as the lines are written: "checkpoint": N */
    const char *key = "\"checkpoint\": ";
    const char *last = nullptr;
    for (const char *at = strstr(tail, key); at != nullptr; at = strstr(at + 1, key))
        last = at;
    return last == nullptr ? 0 : strtoll(last + strlen(key), nullptr, 10);
}

/* Appends lines to the file (after a newline when it ends inside one) and makes them durable. */
void append_lines(const char *path, char **lines, int count, bool start_new_line)
{
    FILE *file = AllocateFile(path, "a");
    if (file == nullptr)
        ereport(ERROR, (errcode_for_file_access(), errmsg("could not open checkpoint file \"%s\": %m", path)));
    bool written = !start_new_line || fputc('\n', file) != EOF;
    for (int i = 0; i < count && written; i++)
        written = fprintf(file, "%s\n", lines[i]) >= 0;
    written = written && fflush(file) == 0 && pg_fsync(fileno(file)) == 0;
    const int saved_errno = errno;
    FreeFile(file);
    errno = saved_errno;
    if (!written)
        ereport(ERROR, (errcode_for_file_access(), errmsg("could not write checkpoint file \"%s\": %m", path)));
}

/* Brings pg_eventstore.checkpoint_file up to the checkpoints table (committed lines only). */
void catch_up_checkpoint_file()
{
    const char *path = pg::guc_checkpoint_file;
    if (path == nullptr || path[0] == '\0')
        return;
    if (strcmp(path, checkpoint_file.path) != 0) {
        strlcpy(checkpoint_file.path, path, sizeof checkpoint_file.path);
        checkpoint_file.through = -1;
    }
    if (checkpoint_file.through < 0)
        checkpoint_file.through = last_checkpoint_in_file(path, &checkpoint_file.ends_inside_line);

    MemoryContext step = CurrentMemoryContext;
    begin_job_transaction("pg_eventstore: checkpoint file");
    Datum args[1] = {Int64GetDatum(checkpoint_file.through)};
    run_kept_plan(lines_after_statement, args, nullptr, false, 0, SPI_OK_SELECT);
    const int count = (int)SPI_processed;
    int64 through = checkpoint_file.through;
    char **lines = nullptr;
    if (count > 0) {
        MemoryContext spi = MemoryContextSwitchTo(step);
        lines = (char **)palloc(sizeof(char *) * count);
        for (int i = 0; i < count; i++)
            lines[i] = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
        MemoryContextSwitchTo(spi);
        bool isnull;
        through = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[count - 1], SPI_tuptable->tupdesc, 1, &isnull));
    }
    commit_job_transaction();
    if (count > 0) {
        /* A failed write is retried from the start on the next step: the file is read again then. */
        checkpoint_file.through = -1;
        append_lines(path, lines, count, checkpoint_file.ends_inside_line);
        checkpoint_file.through = through;
        checkpoint_file.ends_inside_line = false;
    }
}

void write_checkpoint(int64 number, int64 tree_size)
{
    uint8 root[kHashBytes];
    uint8 ledger_head[kHashBytes];
    pg::merkle_root_at(tree_size, root);
    pg::ledger_hash_at(tree_size, ledger_head);
    run_kept_plan(utc_now_statement, nullptr, nullptr, false, 1, SPI_OK_SELECT);
    const char *created_at = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

    SignedCheckpoint *checkpoint = (SignedCheckpoint *)palloc(sizeof(SignedCheckpoint));
    sign_checkpoint(number, tree_size, root, ledger_head, created_at, checkpoint);

    const bool is_signed = checkpoint->key_id[0] != '\0';
    Datum args[8] = {Int64GetDatum(number),
                     Int64GetDatum(tree_size),
                     PointerGetDatum(pg::hash_to_bytea(root)),
                     PointerGetDatum(pg::hash_to_bytea(ledger_head)),
                     is_signed ? CStringGetTextDatum(checkpoint->key_id) : (Datum)0,
                     is_signed ? CStringGetTextDatum(checkpoint->public_key) : (Datum)0,
                     is_signed ? CStringGetTextDatum(checkpoint->signature) : (Datum)0,
                     CStringGetTextDatum(checkpoint->json)};
    const char nulls[9] = {' ', ' ', ' ', ' ', is_signed ? ' ' : 'n', is_signed ? ' ' : 'n', is_signed ? ' ' : 'n',
                           ' ', '\0'};
    run_kept_plan(insert_checkpoint_statement, args, nulls, false, 0, SPI_OK_INSERT_RETURNING);
    const char *line = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

    const char *topic = pg::guc_checkpoint_topic;
    if (topic != nullptr && topic[0] != '\0') {
        Datum publish_args[3] = {CStringGetTextDatum(topic), CStringGetTextDatum(psprintf("%lld", (long long)number)),
                                 CStringGetTextDatum(line)};
        run_kept_plan(publish_checkpoint_statement, publish_args, nullptr, false, 0, SPI_OK_INSERT);
    }
}

/* Writes a checkpoint when one is due (*written says whether); returns the ms until the next may be. */
long checkpoint_if_due(bool *written)
{
    *written = false;
    run_kept_plan(last_checkpoint_statement, nullptr, nullptr, false, 1, SPI_OK_SELECT);
    int64 last_number = 0;
    int64 last_size = 0;
    int64 since_ms = INT64_MAX;
    if (SPI_processed == 1) {
        bool isnull;
        last_number = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
        last_size = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
        since_ms = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
    }
    const int64 interval_ms = pg::guc_checkpoint_interval_ms;
    const int64 log_size = pg::sequenced_log_size();
    const bool grew = log_size > last_size;
    const bool due = grew && (log_size - last_size >= pg::guc_checkpoint_interval_events || since_ms >= interval_ms);
    if (!due)
        return grew && since_ms < interval_ms ? (long)(interval_ms - since_ms) : (long)interval_ms;
    write_checkpoint(last_number + 1, log_size);
    *written = true;
    return (long)interval_ms;
}

}  // namespace

long keep_anchors()
{
    if (pg::guc_checkpoint_interval_ms == 0)
        return -1;
    const TimestampTz now = GetCurrentTimestamp();
    if (now < next_look)
        return -1;

    begin_job_transaction("pg_eventstore: extending the Merkle tree");
    const bool installed = anchoring_installed();
    const bool more = installed && extend_tree();
    commit_job_transaction();
    if (!installed)
        return -1;
    if (more)
        return 0;

    begin_job_transaction("pg_eventstore: checkpoint");
    bool written;
    const long until_due = checkpoint_if_due(&written);
    commit_job_transaction();
    if (written)
        wake_job(kPublisher); /* its outbox message, when there is a topic */
    catch_up_checkpoint_file();
    next_look = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), kLookIntervalMs);
    return until_due < kLookIntervalMs ? kLookIntervalMs : until_due;
}

}  // namespace eventstore::worker
