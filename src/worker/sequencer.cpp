/*
 * sequencer.cpp — gives every committed event a dense, commit-ordered
 * global position (the snapshot-batch method; docs/global-order.md).
 *
 * A round runs in the worker's own short transaction:
 *
 *   1. lock out other sequencers (eventstore.sequencer_lock) and read S(k-1), the snapshot the
 *      previous round used;
 *   2. take S(k) = pg_current_snapshot();
 *   3. the batch is every event whose transaction is visible in S(k) and not
 *      in S(k-1), ordered by insert_seq (then stream_version).  An event is in
 *      exactly one batch: the first snapshot that sees its transaction
 *      committed.  If version v+1 of a stream is in this batch, version v
 *      committed no later, so it is in this batch or an earlier one, and
 *      inside a batch insert_seq (taken under the stream lock) keeps each
 *      stream's version order;
 *   4. assign positions last+1, last+2, ... and chain each onto the ledger;
 *   5. store S(k).  All of it commits atomically, so a crash repeats or skips
 *      nothing.
 *
 * Why not "xid < xmin, ordered by xid": a transaction can take its xid early,
 * then wait on a stream lock held by a younger transaction that commits first;
 * ordering by xid would then put version v+1 before version v.
 *
 * Bootstrap (no stored snapshot: a new install or a restored database): the
 * batch is every event visible in S(k) that has no position yet.  Rows that
 * pg_restore loads get the restoring transaction's xid (see the row trigger
 * eventstore.stamp_restored_event), so they are sequenced like any append.
 * Both queries skip events that already have a position, so nothing can
 * ever be sequenced twice.
 *
 * Plain-data locals only: every SPI call may ereport(ERROR).
 */
#include "sequencer.h"

#include <cstring>

#include "pg/event_hashing.h"
#include "pg/extension_relation.h"
#include "pg/kept_plan.h"
#include "pg/spi_helpers.h"

extern "C" {
#include "catalog/namespace.h"
#include "commands/dbcommands.h"
#include "miscadmin.h"
#include "catalog/pg_type.h"
#include "nodes/makefuncs.h"
#include "storage/lockdefs.h"
#include "executor/spi.h"
#include "nodes/parsenodes.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
#include "access/table.h"
}

namespace eventstore::worker {
namespace {

using eventstore::pg::array_of;
using eventstore::pg::kHashBytes;
using eventstore::pg::kept_plan;
using eventstore::pg::KeptPlan;
using eventstore::pg::run_kept_plan;

/* Events fetched and inserted per chunk, bounding memory for big batches. */
constexpr long kChunkEvents = 10000;

/* pg_snapshot has no OID macro in PostgreSQL 15's pg_type.h under this name. */
constexpr Oid kSnapshotTypeOid = 5038; /* pg_snapshot */

/*
 * The events of S(k) not in S(k-1), given as $3 and $4, within the xid
 * range [$1, $2) = [xmin of S(k-1), xmax of S(k)).  Planned once, whatever
 * the values (a generic plan): the bounds are plain xid8 parameters, so the
 * plan is a range scan of events_xid_idx however large the log is, and
 * rounds no longer spend 1.3 ms planning for 0.3 ms of execution, as a
 * custom plan per round did.  OFFSET 0 keeps the "no position yet" check a
 * probe per candidate event: as an anti join, a plan made for a large
 * guessed batch could hash the whole of log_positions.  The category comes
 * from the stream id (the part before the first '-'), not from a join.
 */
KeptPlan delta_batch_statement = {
    "SELECT e.stream_id, e.stream_version, pg_catalog.split_part(e.stream_id, '-', 1), e.hash, e.ctid "
    "FROM eventstore.events e "
    "WHERE e.xid >= $1 AND e.xid < $2 "
    "  AND pg_catalog.pg_visible_in_snapshot(e.xid, $4) AND NOT pg_catalog.pg_visible_in_snapshot(e.xid, $3) "
    "  AND NOT EXISTS (SELECT FROM eventstore.log_positions p "
    "                  WHERE p.stream_id = e.stream_id AND p.stream_version = e.stream_version OFFSET 0) "
    "ORDER BY e.insert_seq, e.stream_version",
    4,
    {XID8OID, XID8OID, kSnapshotTypeOid, kSnapshotTypeOid},
    CURSOR_OPT_GENERIC_PLAN};

/* Bootstrap (no stored snapshot): every visible event without a position. */
KeptPlan bootstrap_batch_statement = {
    "SELECT e.stream_id, e.stream_version, pg_catalog.split_part(e.stream_id, '-', 1), e.hash, e.ctid "
    "FROM eventstore.events e "
    "WHERE pg_catalog.pg_visible_in_snapshot(e.xid, $1) "
    "  AND NOT EXISTS (SELECT FROM eventstore.log_positions p "
    "                  WHERE p.stream_id = e.stream_id AND p.stream_version = e.stream_version) "
    "ORDER BY e.insert_seq, e.stream_version",
    1,
    {kSnapshotTypeOid}};

KeptPlan insert_positions_statement = {
    "INSERT INTO eventstore.log_positions "
    "  (global_position, stream_id, stream_version, category, ledger_hash, event_row, sequenced_at) "
    /* multi-argument unnest is grammar (ROWS FROM), not a function lookup */
    "SELECT u.*, $7 FROM unnest($1, $2, $3, $4, $5, $6) AS u",
    7,
    {INT8ARRAYOID, TEXTARRAYOID, INT8ARRAYOID, TEXTARRAYOID, BYTEAARRAYOID, TIDARRAYOID, TIMESTAMPTZOID}};

/* The same for a database still at extension version 0.1, whose log_positions has no event_row yet. */
KeptPlan insert_positions_01_statement = {
    "INSERT INTO eventstore.log_positions "
    "  (global_position, stream_id, stream_version, category, ledger_hash, sequenced_at) "
    "SELECT u.*, $7 FROM unnest($1, $2, $3, $4, $5) AS u",
    7,
    {INT8ARRAYOID, TEXTARRAYOID, INT8ARRAYOID, TEXTARRAYOID, BYTEAARRAYOID, TIDARRAYOID, TIMESTAMPTZOID}};

/* The file events' row pointers belong to (see event_row_file in the 0.2 script). */
KeptPlan event_row_file_statement = {"SELECT filenode FROM eventstore.event_row_file", 0, {}};
KeptPlan record_event_row_file_statement = {
    "INSERT INTO eventstore.event_row_file (singleton, filenode, from_position) VALUES (true, $1, $2) "
    "ON CONFLICT (singleton) DO UPDATE SET filenode = excluded.filenode, from_position = excluded.from_position",
    2,
    {OIDOID, INT8OID}};

KeptPlan ledger_head_statement = {
    "SELECT global_position, ledger_hash FROM eventstore.log_positions ORDER BY global_position DESC LIMIT 1", 0,
    {}};

KeptPlan previous_snapshot_statement = {"SELECT last_snapshot FROM eventstore.sequencer_state", 0, {}};

KeptPlan current_snapshot_statement = {"SELECT pg_catalog.pg_current_snapshot()", 0, {}};

KeptPlan store_snapshot_statement = {
    "UPDATE eventstore.sequencer_state SET last_snapshot = $1, updated_at = pg_catalog.now()", 1,
    {kSnapshotTypeOid}};

/*
 * One sequencer at a time.  The lock is an EXCLUSIVE lock on the empty table
 * eventstore.sequencer_lock, held to the end of the round's transaction:
 *   - only its owner and superusers can take a lock on it (LOCK TABLE checks
 *     privileges before it locks, and nobody is granted any), so a role
 *     without grants cannot stop the global order.  An advisory lock, which
 *     rounds used before, can be taken by any role that knows the key;
 *   - no rows are ever written to it, so autovacuum never competes for it;
 *   - a relation lock writes no WAL and takes no transaction id, so an empty
 *     round still ends without a WAL flush.
 * The worker's lock_timeout bounds the wait should a superuser hold it: the
 * round fails, and worker_status shows why.
 *
 * A database still at extension version 0.1 (new library installed, ALTER
 * EXTENSION ... UPDATE not run yet) has no such table: its rounds take 0.1's
 * advisory lock, so the global order goes on, and the log says to update.
 */
void lock_out_other_sequencers()
{
    RangeVar *relation = makeRangeVar(pstrdup("eventstore"), pstrdup("sequencer_lock"), -1);
    if (OidIsValid(RangeVarGetRelid(relation, ExclusiveLock, true)))
        return;
    static bool update_hint_logged = false;
    if (!update_hint_logged) {
        ereport(WARNING, (errmsg("pg_eventstore sequencer: the extension in database \"%s\" is older than the "
                                 "library; any role can stall sequencing until it is updated",
                                 get_database_name(MyDatabaseId)),
                          errhint("Run ALTER EXTENSION pg_eventstore UPDATE.")));
        update_hint_logged = true;
    }
    constexpr int64 kVersion01LockKey = 7045200755086449; /* "pg_evsq" in ASCII, as 0.1 used */
    DirectFunctionCall1(pg_advisory_xact_lock_int8, Int64GetDatum(kVersion01LockKey));
}

/* The last assigned position and its ledger hash (0 and zeros when the log is empty). */
int64 read_ledger_head(uint8 *ledger_hash)
{
    run_kept_plan(ledger_head_statement, nullptr, nullptr, false, 0, SPI_OK_SELECT);
    memset(ledger_hash, 0, kHashBytes);
    if (SPI_processed == 0)
        return 0;
    bool isnull;
    const int64 position = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
    pg::hash_from_bytea(DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull)),
                        "ledger_hash", ledger_hash);
    return position;
}

/* Assigns positions to one fetched chunk and inserts them. Returns the new last position. */
int64 sequence_chunk(SPITupleTable *rows, uint64 count, int64 position, uint8 *ledger_hash, bool row_pointers)
{
    Datum *positions = (Datum *)palloc(sizeof(Datum) * count);
    Datum *stream_ids = (Datum *)palloc(sizeof(Datum) * count);
    Datum *versions = (Datum *)palloc(sizeof(Datum) * count);
    Datum *categories = (Datum *)palloc(sizeof(Datum) * count);
    Datum *ledgers = (Datum *)palloc(sizeof(Datum) * count);
    Datum *rows_at = (Datum *)palloc(sizeof(Datum) * count);
    for (uint64 i = 0; i < count; i++) {
        HeapTuple tuple = rows->vals[i];
        bool isnull;
        uint8 event_hash[kHashBytes];
        stream_ids[i] = SPI_getbinval(tuple, rows->tupdesc, 1, &isnull);
        versions[i] = SPI_getbinval(tuple, rows->tupdesc, 2, &isnull);
        categories[i] = SPI_getbinval(tuple, rows->tupdesc, 3, &isnull);
        rows_at[i] = SPI_getbinval(tuple, rows->tupdesc, 5, &isnull);
        pg::hash_from_bytea(DatumGetByteaPP(SPI_getbinval(tuple, rows->tupdesc, 4, &isnull)), "event hash",
                            event_hash);
        position++;
        pg::hash_ledger_entry(ledger_hash, event_hash, position, ledger_hash);
        positions[i] = Int64GetDatum(position);
        ledgers[i] = PointerGetDatum(pg::hash_to_bytea(ledger_hash));
    }
    Datum args[7] = {PointerGetDatum(array_of(positions, nullptr, (int)count, INT8OID)),
                     PointerGetDatum(array_of(stream_ids, nullptr, (int)count, TEXTOID)),
                     PointerGetDatum(array_of(versions, nullptr, (int)count, INT8OID)),
                     PointerGetDatum(array_of(categories, nullptr, (int)count, TEXTOID)),
                     PointerGetDatum(array_of(ledgers, nullptr, (int)count, BYTEAOID)),
                     PointerGetDatum(array_of(rows_at, nullptr, (int)count, TIDOID)),
                     TimestampTzGetDatum(GetCurrentTimestamp())};
    run_kept_plan(row_pointers ? insert_positions_statement : insert_positions_01_statement, args, nullptr, false, 0,
                  SPI_OK_INSERT);
    return position;
}

/*
 * The sequencer records events' row pointers (log_positions.event_row);
 * they hold while events keeps its file.  Before the first position of a
 * round, if the file is not the one recorded (a new process, a rewrite of
 * events, a restore), records it with the round's first position: readers
 * trust pointers from there on only.  Known per process, so most rounds
 * only compare two numbers.
 */
void note_event_row_file(int64 first_position)
{
    static Oid recorded = InvalidOid;
    const Oid events = pg::extension_relation("events");
    /* Held to the end of the round: no rewrite of events between here and the batch query. */
    Relation relation = table_open(events, AccessShareLock);
    const Oid filenode = relation->rd_node.relNode;
    table_close(relation, NoLock);
    if (filenode == recorded)
        return;
    run_kept_plan(event_row_file_statement, nullptr, nullptr, false, 1, SPI_OK_SELECT);
    bool isnull = true;
    const Oid stored =
        SPI_processed == 1 ? DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull))
                           : InvalidOid;
    if (stored == filenode) {
        recorded = filenode; /* committed: no need to look again in this process */
        return;
    }
    /* Remembered only once a later round finds it committed: this round may still roll back. */
    Datum args[2] = {ObjectIdGetDatum(filenode), Int64GetDatum(first_position)};
    run_kept_plan(record_event_row_file_statement, args, nullptr, false, 0, SPI_OK_INSERT);
}

}  // namespace

SequencerRound sequence_committed_events()
{
    SequencerRound round = {0, 0};

    lock_out_other_sequencers();
    run_kept_plan(previous_snapshot_statement, nullptr, nullptr, false, 0, SPI_OK_SELECT);
    if (SPI_processed != 1)
        ereport(ERROR, (errmsg("pg_eventstore sequencer: eventstore.sequencer_state must hold exactly one row")));
    bool previous_is_null;
    Datum previous = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &previous_is_null);

    run_kept_plan(current_snapshot_statement, nullptr, nullptr, false, 0, SPI_OK_SELECT);
    bool isnull;
    Datum current = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

    uint8 ledger_hash[kHashBytes];
    int64 position = read_ledger_head(ledger_hash);
    const bool row_pointers = OidIsValid(pg::extension_relation("event_row_file"));
    if (row_pointers)
        note_event_row_file(position + 1);

    /*
     * read_only = false makes SPI take a fresh snapshot for the scan, newer
     * than S(k), so every row of a transaction visible in S(k) is visible to
     * the scan.  Scanning under an older snapshot (say the transaction's
     * first) would mark events committed in between as done without
     * sequencing them.
     */
    Portal cursor;
    if (previous_is_null) {
        Datum bootstrap_args[1] = {current};
        cursor = SPI_cursor_open(nullptr, kept_plan(bootstrap_batch_statement), bootstrap_args, nullptr, false);
    } else {
        Datum delta_args[4] = {DirectFunctionCall1(pg_snapshot_xmin, previous),
                               DirectFunctionCall1(pg_snapshot_xmax, current), previous, current};
        cursor = SPI_cursor_open(nullptr, kept_plan(delta_batch_statement), delta_args, nullptr, false);
    }
    for (;;) {
        SPI_cursor_fetch(cursor, true, kChunkEvents);
        const uint64 fetched = SPI_processed;
        if (fetched == 0)
            break;
        SPITupleTable *rows = SPI_tuptable;
        position = sequence_chunk(rows, fetched, position, ledger_hash, row_pointers);
        round.events += (int64)fetched;
        SPI_freetuptable(rows);
    }
    SPI_cursor_close(cursor);
    round.last_position = position;

    /* An empty batch changes nothing worth a write; S(k-1) stays valid. */
    if (round.events > 0 || previous_is_null) {
        Datum values[] = {current};
        run_kept_plan(store_snapshot_statement, values, nullptr, false, 0, SPI_OK_UPDATE);
    }
    return round;
}

}  // namespace eventstore::worker
