/*
 * log_verifier.h — the walk over the exported log: every event's hash, the
 * ledger, and the Merkle tree against the anchored checkpoints, in one
 * streaming pass.
 *
 * The input is `COPY (SELECT * FROM eventstore.export_log()) TO STDOUT`:
 *
 *   global_position stream_id stream_version event_id event_type
 *   schema_version event_time_us data metadata hash ledger_hash
 *
 * in global position order from 1.  For each row, in this order:
 *
 *   1. the position is the previous one plus 1 ("position P: expected
 *      position Q");
 *   2. the stream's version is its previous one plus 1, from 1;
 *   3. the event hash recomputed from the fields and the stream's previous
 *      recomputed hash equals the hash column ("... event hash does not
 *      match its fields");
 *   4. the ledger hash recomputed from the previous one, the event hash and
 *      the position equals the ledger_hash column;
 *   5. the ledger hash becomes the next Merkle leaf; an inclusion proof's
 *      claim about this position is checked;
 *   6. every anchored checkpoint whose tree size is this position must have
 *      the tree's root and this ledger hash ("checkpoint N (tree size T):
 *      root does not match the log").
 *
 * Checkpoints of size 0 are checked before the first row; at the end, a
 * checkpoint beyond the last position is a failure (the log lost its tail
 * or the checkpoint belongs to another history).  The first failure, in
 * that order, is thrown as Failure.
 *
 * Memory: one (last version, last hash) per stream, the frontier (at most
 * 64 hashes) and the reader's buffer.  Nothing else of the log is kept.
 */
#ifndef EVENTSTORE_VERIFY_LOG_VERIFIER_H
#define EVENTSTORE_VERIFY_LOG_VERIFIER_H

#include <cstdint>
#include <vector>

#include "byte_source.h"
#include "checkpoint_set.h"
#include "proof_check.h"

namespace eventstore::verify {

struct WalkSummary {
    std::uint64_t events = 0;
    std::uint64_t streams = 0;
    std::uint64_t checkpoints = 0; /* anchored checkpoints matched against the log */
    std::uint64_t claims = 0;      /* inclusion proofs matched against the log */
    std::uint64_t bytes = 0;
};

/* Walks the log; throws Failure at the first thing that does not hold. */
WalkSummary verify_log(ByteSource &log, const CheckpointSet &anchors, std::vector<LedgerClaim> claims);

}  // namespace eventstore::verify

#endif
