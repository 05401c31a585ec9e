/*
 * merkle_store.cpp — see merkle_store.h; also the SQL functions
 * eventstore.merkle_root, inclusion_proof and consistency_proof.
 *
 * A proof is made in three steps, because C++ (src/core/merkle) and
 * PostgreSQL calls must not mix inside one guard (errors.h, rule 4):
 *   1. plan (guarded C++): which subtrees the proof needs, and the aligned
 *      blocks each decomposes into, copied into plain arrays;
 *   2. fetch (PostgreSQL): each block's hash, stored by the worker
 *      (level 8 and up) or computed from its ledger hashes;
 *   3. fold (guarded C++): each subtree's root from its blocks.
 * The answer is jsonb, the shape docs/tamper-evidence.md documents and the
 * offline verifier (tools/verify) reads.
 */
#include "merkle_store.h"

#include <cstring>
#include <vector>

#include "core/merkle.h"
#include "errors.h"
#include "kept_plan.h"

extern "C" {
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
}

namespace eventstore::pg {
namespace {

/* Plain copies of core's MerkleSubtree: a tree of 2^63 leaves needs at most 64 of each. */
constexpr int kMaxSubtrees = 64;
constexpr int kMaxBlocksPerSubtree = 64;

/* The largest block a proof computes from its ledger hashes when the worker has not stored it yet. */
constexpr int kLargestComputedLevel = 16;

struct PlainBlock {
    int level;
    uint64 index;
};

struct PlainSubtree {
    uint64 begin;
    uint64 end;
    int block_count;
    PlainBlock blocks[kMaxBlocksPerSubtree];
    uint8 root[kHashBytes];
};

struct ProofPlan {
    int count;
    PlainSubtree subtrees[kMaxSubtrees];
};

KeptPlan sequenced_size_statement = {
    "SELECT coalesce(max(global_position), 0) FROM eventstore.log_positions", 0, {}};

KeptPlan ledger_at_statement = {
    "SELECT ledger_hash FROM eventstore.log_positions WHERE global_position = $1", 1, {INT8OID}};

KeptPlan stored_block_statement = {
    "SELECT hash FROM eventstore.merkle_blocks WHERE level = $1 AND block_index = $2", 2, {INT2OID, INT8OID}};

KeptPlan ledger_range_statement = {
    "SELECT ledger_hash FROM eventstore.log_positions "
    "WHERE global_position > $1 AND global_position <= $2 ORDER BY global_position",
    2,
    {INT8OID, INT8OID}};

/* Copies core subtrees into the plan.  Runs inside a guard: plain copies only. */
void copy_plan(const std::vector<MerkleSubtree> &subtrees, ProofPlan *plan)
{
    plan->count = 0;
    for (const MerkleSubtree &subtree : subtrees) {
        PlainSubtree &out = plan->subtrees[plan->count++];
        out.begin = subtree.begin;
        out.end = subtree.end;
        out.block_count = 0;
        for (const MerkleBlock &block : subtree.blocks)
            out.blocks[out.block_count++] = PlainBlock{block.level, block.index};
    }
}

void block_hash(const PlainBlock &block, uint8 *hash)
{
    if (merkle_stored_block(block.level, (int64)block.index, hash))
        return;
    if (block.level > kLargestComputedLevel)
        ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                        errmsg("the worker has not built the Merkle tree this far yet"),
                        errdetail("Block %llu of level %d (positions %llu to %llu) is not stored.",
                                  (unsigned long long)block.index, block.level,
                                  (unsigned long long)(block.index << block.level) + 1,
                                  (unsigned long long)((block.index + 1) << block.level)),
                        errhint("Try again in a moment; worker_status shows the worker's progress.")));
    merkle_block_from_leaves(block.level, (int64)block.index, hash);
}

/* Step 2 and 3: every subtree's root from its blocks. */
void fold_plan(ProofPlan *plan)
{
    for (int s = 0; s < plan->count; s++) {
        PlainSubtree &subtree = plan->subtrees[s];
        uint8 hashes[kMaxBlocksPerSubtree][kHashBytes];
        for (int b = 0; b < subtree.block_count; b++)
            block_hash(subtree.blocks[b], hashes[b]);
        guarded_call([&] {
            std::vector<Digest> block_hashes(subtree.block_count);
            for (int b = 0; b < subtree.block_count; b++)
                std::memcpy(block_hashes[b].data(), hashes[b], kHashBytes);
            const Digest root = fold_blocks(block_hashes);
            std::memcpy(subtree.root, root.data(), kHashBytes);
        });
    }
}

void check_tree_size(int64 tree_size, const char *name)
{
    const int64 sequenced = sequenced_log_size();
    if (tree_size < 0 || tree_size > sequenced)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("%s must be between 0 and the last sequenced position (%lld), got %lld", name,
                               (long long)sequenced, (long long)tree_size)));
}

void append_hex(StringInfo out, const uint8 *hash)
{
    char hex[2 * kHashBytes + 1];
    hex_encode((const char *)hash, kHashBytes, hex);
    hex[2 * kHashBytes] = '\0';
    appendStringInfo(out, "\"%s\"", hex);
}

/* "key": [ "hex", ... ] of the plan's subtree roots, in proof order. */
void append_path(StringInfo out, const char *key, const ProofPlan *plan)
{
    appendStringInfo(out, ", \"%s\": [", key);
    for (int s = 0; s < plan->count; s++) {
        if (s > 0)
            appendStringInfoString(out, ", ");
        append_hex(out, plan->subtrees[s].root);
    }
    appendStringInfoChar(out, ']');
}

Datum jsonb_from(StringInfo text) { return DirectFunctionCall1(jsonb_in, CStringGetDatum(text->data)); }

void connect_spi()
{
    if (SPI_connect() != SPI_OK_CONNECT)
        ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("pg_eventstore: SPI_connect failed")));
}

}  // namespace

int64 sequenced_log_size()
{
    run_kept_plan(sequenced_size_statement, nullptr, nullptr, true, 1, SPI_OK_SELECT);
    bool isnull;
    return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

bool merkle_stored_block(int level, int64 index, uint8 *hash)
{
    if (level < kStoredLevel)
        return false;
    Datum args[2] = {Int16GetDatum((int16)level), Int64GetDatum(index)};
    run_kept_plan(stored_block_statement, args, nullptr, true, 1, SPI_OK_SELECT);
    if (SPI_processed == 0)
        return false;
    bool isnull;
    hash_from_bytea(DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)),
                    "merkle block hash", hash);
    return true;
}

void ledger_hash_at(int64 position, uint8 *hash)
{
    memset(hash, 0, kHashBytes);
    if (position == 0)
        return;
    Datum args[1] = {Int64GetDatum(position)};
    run_kept_plan(ledger_at_statement, args, nullptr, true, 1, SPI_OK_SELECT);
    if (SPI_processed != 1)
        ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                        errmsg("position %lld has not been sequenced", (long long)position)));
    bool isnull;
    hash_from_bytea(DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)),
                    "ledger_hash", hash);
}

void merkle_block_from_leaves(int level, int64 index, uint8 *hash)
{
    const int64 first = index << level;
    const int64 count = (int64)1 << level;
    Datum args[2] = {Int64GetDatum(first), Int64GetDatum(first + count)};
    run_kept_plan(ledger_range_statement, args, nullptr, true, 0, SPI_OK_SELECT);
    if ((int64)SPI_processed != count)
        ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                        errmsg("positions %lld to %lld are not all sequenced", (long long)first + 1,
                               (long long)(first + count))));
    uint8 *ledgers = (uint8 *)palloc(count * kHashBytes);
    for (int64 i = 0; i < count; i++) {
        bool isnull;
        hash_from_bytea(DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull)),
                        "ledger_hash", ledgers + i * kHashBytes);
    }
    SPI_freetuptable(SPI_tuptable);
    guarded_call([&] {
        MerkleFrontier frontier;
        Digest ledger;
        for (int64 i = 0; i < count; i++) {
            std::memcpy(ledger.data(), ledgers + i * kHashBytes, kHashBytes);
            frontier.append(merkle_leaf_hash(ledger));
        }
        const Digest root = frontier.root();
        std::memcpy(hash, root.data(), kHashBytes);
    });
    pfree(ledgers);
}

void merkle_root_at(int64 tree_size, uint8 *root)
{
    ProofPlan *plan = (ProofPlan *)palloc(sizeof(ProofPlan));
    guarded_call([&] {
        copy_plan({MerkleSubtree{0, (uint64_t)tree_size, decompose(0, (uint64_t)tree_size)}}, plan);
    });
    fold_plan(plan);
    memcpy(root, plan->subtrees[0].root, kHashBytes);
    pfree(plan);
}

}  // namespace eventstore::pg

using namespace eventstore;
using namespace eventstore::pg;

extern "C" {

PG_FUNCTION_INFO_V1(eventstore_merkle_root);
PG_FUNCTION_INFO_V1(eventstore_inclusion_proof);
PG_FUNCTION_INFO_V1(eventstore_consistency_proof);

/* eventstore.merkle_root(tree_size bigint) RETURNS bytea */
Datum eventstore_merkle_root(PG_FUNCTION_ARGS)
{
    if (PG_ARGISNULL(0))
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("tree_size must not be NULL")));
    const int64 tree_size = PG_GETARG_INT64(0);
    uint8 root[kHashBytes];
    connect_spi();
    check_tree_size(tree_size, "tree_size");
    merkle_root_at(tree_size, root);
    SPI_finish();
    PG_RETURN_BYTEA_P(hash_to_bytea(root));
}

/*
 * eventstore.inclusion_proof(global_position bigint, tree_size bigint DEFAULT NULL) RETURNS jsonb:
 * the audit path of the event at global_position in the tree of tree_size
 * positions (the latest checkpoint's when NULL).
 */
Datum eventstore_inclusion_proof(PG_FUNCTION_ARGS)
{
    if (PG_ARGISNULL(0))
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("global_position must not be NULL")));
    const int64 position = PG_GETARG_INT64(0);
    connect_spi();
    int64 tree_size;
    if (PG_ARGISNULL(1)) {
        if (SPI_execute("SELECT tree_size FROM eventstore.checkpoints ORDER BY checkpoint DESC LIMIT 1", true, 1) !=
                SPI_OK_SELECT ||
            SPI_processed == 0)
            ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                            errmsg("there is no checkpoint yet; pass tree_size"),
                            errhint("The worker writes one every pg_eventstore.checkpoint_interval.")));
        bool isnull;
        tree_size = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
    } else {
        tree_size = PG_GETARG_INT64(1);
    }
    check_tree_size(tree_size, "tree_size");
    if (position < 1 || position > tree_size)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("global_position must be between 1 and tree_size (%lld), got %lld",
                               (long long)tree_size, (long long)position)));

    ProofPlan *path = (ProofPlan *)palloc(sizeof(ProofPlan));
    guarded_call([&] { copy_plan(inclusion_subtrees((uint64_t)position - 1, (uint64_t)tree_size), path); });
    fold_plan(path);
    uint8 ledger[kHashBytes];
    uint8 leaf[kHashBytes];
    uint8 root[kHashBytes];
    ledger_hash_at(position, ledger);
    guarded_call([&] {
        Digest input;
        std::memcpy(input.data(), ledger, kHashBytes);
        const Digest hash = merkle_leaf_hash(input);
        std::memcpy(leaf, hash.data(), kHashBytes);
    });
    merkle_root_at(tree_size, root);

    StringInfoData json;
    initStringInfo(&json);
    appendStringInfo(&json, "{\"type\": \"inclusion\", \"global_position\": %lld, \"tree_size\": %lld",
                     (long long)position, (long long)tree_size);
    appendStringInfoString(&json, ", \"ledger_hash\": ");
    append_hex(&json, ledger);
    appendStringInfoString(&json, ", \"leaf_hash\": ");
    append_hex(&json, leaf);
    append_path(&json, "path", path);
    appendStringInfoString(&json, ", \"root_hash\": ");
    append_hex(&json, root);
    appendStringInfoChar(&json, '}');
    SPI_finish();
    PG_RETURN_DATUM(jsonb_from(&json));
}

/*
 * eventstore.consistency_proof(old_size bigint, new_size bigint) RETURNS jsonb:
 * proves that the tree of new_size positions extends the one of old_size.
 */
Datum eventstore_consistency_proof(PG_FUNCTION_ARGS)
{
    if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("old_size and new_size must not be NULL")));
    const int64 old_size = PG_GETARG_INT64(0);
    const int64 new_size = PG_GETARG_INT64(1);
    connect_spi();
    check_tree_size(new_size, "new_size");
    if (old_size < 1 || old_size > new_size)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("old_size must be between 1 and new_size (%lld), got %lld", (long long)new_size,
                               (long long)old_size)));

    ProofPlan *proof = (ProofPlan *)palloc(sizeof(ProofPlan));
    guarded_call([&] { copy_plan(consistency_subtrees((uint64_t)old_size, (uint64_t)new_size), proof); });
    fold_plan(proof);
    uint8 old_root[kHashBytes];
    uint8 new_root[kHashBytes];
    merkle_root_at(old_size, old_root);
    merkle_root_at(new_size, new_root);

    StringInfoData json;
    initStringInfo(&json);
    appendStringInfo(&json, "{\"type\": \"consistency\", \"old_size\": %lld, \"new_size\": %lld",
                     (long long)old_size, (long long)new_size);
    append_path(&json, "path", proof);
    appendStringInfoString(&json, ", \"old_root\": ");
    append_hex(&json, old_root);
    appendStringInfoString(&json, ", \"new_root\": ");
    append_hex(&json, new_root);
    appendStringInfoChar(&json, '}');
    SPI_finish();
    PG_RETURN_DATUM(jsonb_from(&json));
}

}  // extern "C"
