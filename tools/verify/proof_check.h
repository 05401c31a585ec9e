/*
 * proof_check.h — inclusion and consistency proofs handed out by the
 * database, checked against the anchored checkpoints.
 *
 * A proof is only worth something when it ends in a root the auditor holds
 * from outside the database: an inclusion proof shows that a ledger hash
 * is leaf N of the tree whose root an anchored checkpoint of that size
 * signed; a consistency proof shows that the tree of one anchored
 * checkpoint is a prefix of another's.  The JSON objects (keys in any
 * order, as jsonb sorts them; other keys are ignored):
 *
 *   {"type":"inclusion","global_position":N,"tree_size":M,"ledger_hash":"hex",
 *    "leaf_hash":"hex","path":["hex",...],"root_hash":"hex"}
 *   {"type":"consistency","old_size":a,"new_size":b,"path":[...],
 *    "old_root":"hex","new_root":"hex"}
 *
 * The checks that need only the proof and the checkpoints run before the
 * log is read.  An inclusion proof also makes a claim about the log (the
 * ledger hash at position N), which the walk checks when --log is given.
 */
#ifndef EVENTSTORE_VERIFY_PROOF_CHECK_H
#define EVENTSTORE_VERIFY_PROOF_CHECK_H

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "checkpoint_set.h"
#include "core/sha256.h"

namespace eventstore::verify {

/* "The ledger hash at this position is this", from the proof named `origin`. */
struct LedgerClaim {
    std::uint64_t position = 0;
    Digest ledger_hash{};
    std::string origin;
};

/*
 * Checks the proof in `text` (the content of the file `origin`); throws
 * Failure naming `origin` for the first thing that does not hold.  Returns
 * the inclusion proof's claim about the log, or nothing for a consistency
 * proof.
 */
std::optional<LedgerClaim> check_proof(std::string_view text, const std::string &origin, const CheckpointSet &anchors);

}  // namespace eventstore::verify

#endif
