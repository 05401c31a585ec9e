/*
 * checkpoint_set.h — the checkpoints an auditor kept outside the database
 * ("anchored" checkpoints), checked on their own before the log is read.
 *
 * The file is what the auditor collected from the Kafka topic (or the
 * checkpoint file beside it): one line per checkpoint, blank lines ignored.
 * Kafka delivers at least once, so the same line may come twice; two
 * DIFFERENT lines with one checkpoint number are two histories, a FAIL.
 * Numbers may have gaps (an auditor may have missed messages, or started
 * late); what is there must be consistent:
 *
 *   - every line parses (checkpoint_line.h);
 *   - tree sizes never decrease as the numbers grow (equal sizes are fine,
 *     but then with the same root and ledger head);
 *   - each checkpoint is signed by one of the given keys (or unsigned and
 *     --allow-unsigned given).
 *
 * Failures are reported in checkpoint number order, except that a line
 * that does not parse, or a conflicting duplicate, is reported first (in
 * line order): nothing else can be judged before the set is known.
 */
#ifndef EVENTSTORE_VERIFY_CHECKPOINT_SET_H
#define EVENTSTORE_VERIFY_CHECKPOINT_SET_H

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "byte_source.h"
#include "checkpoint_line.h"
#include "signing_keys.h"

namespace eventstore::verify {

class CheckpointSet {
public:
    /* No checkpoints at all (the log is then only checked for internal consistency). */
    CheckpointSet() = default;

    /*
     * Parses and checks the lines of `text` (the auditor's checkpoint
     * file); throws Failure for the first thing that does not hold.
     */
    static CheckpointSet from_lines(std::string_view text, const SigningKeys &keys, bool allow_unsigned);

    /*
     * Checks that every checkpoint here is in the database's copy, a COPY
     * text export of its checkpoint lines, with identical bytes; throws
     * Failure ("checkpoint N is missing from the database" / "checkpoint N
     * differs in the database").  Lines only the database has are newer
     * checkpoints the auditor has not collected yet: not a failure.
     */
    void check_database_copy(ByteSource &database_lines) const;

    /* Distinct checkpoints by ascending number; their tree sizes do not decrease. */
    const std::vector<Checkpoint> &checkpoints() const { return checkpoints_; }
    /* The first checkpoint whose tree size is `tree_size`, or nullptr. */
    const Checkpoint *find_by_size(std::uint64_t tree_size) const;
    std::size_t signed_count() const;

private:
    std::vector<Checkpoint> checkpoints_;
};

}  // namespace eventstore::verify

#endif
