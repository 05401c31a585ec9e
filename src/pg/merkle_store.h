/*
 * merkle_store.h — the log's Merkle tree as the database holds it
 * (docs/tamper-evidence.md): blocks of 256 leaves and up in
 * eventstore.merkle_blocks, written by the worker as the log grows, and
 * everything smaller computed from the ledger hashes in log_positions.
 *
 * The worker's anchoring step uses these to extend the tree and to take the
 * root of each checkpoint; the SQL functions merkle_root, inclusion_proof
 * and consistency_proof (merkle_store.cpp) answer auditors from the same
 * code.  Every function here runs SPI statements: call it inside an SPI
 * connection.
 */
#ifndef EVENTSTORE_PG_MERKLE_STORE_H
#define EVENTSTORE_PG_MERKLE_STORE_H

#include "pg_includes.h"

#include "event_hashing.h"

namespace eventstore::pg {

/* The last sequenced position: the size of the tree the log makes now. */
int64 sequenced_log_size();

/* The ledger hash at a position (32 zero bytes for position 0). */
void ledger_hash_at(int64 position, uint8 *hash);

/* The Merkle root over positions 1..tree_size (tree_size <= sequenced_log_size()). */
void merkle_root_at(int64 tree_size, uint8 *root);

/* A block the worker stored (level 8 and up); false when it is not stored (yet). */
bool merkle_stored_block(int level, int64 index, uint8 *hash);

/*
 * The hash of block (level, index) from its 2^level ledger hashes: what the
 * worker stores for level 8, and what proofs compute for smaller blocks.
 */
void merkle_block_from_leaves(int level, int64 index, uint8 *hash);

}  // namespace eventstore::pg

#endif
