/*
 * log_frontier.cpp — see log_frontier.h.
 */
#include "log_frontier.h"

#include "core/merkle.h"

namespace eventstore::verify {

void LogFrontier::append(const Digest &leaf_hash)
{
    /* Each trailing 1 bit of the old size is a peak of the same height as
       the node being carried: merge them, as adding 1 carries in binary. */
    Digest node = leaf_hash;
    for (std::uint64_t s = size_; (s & 1) != 0; s >>= 1) {
        node = hasher_.node_hash(peaks_.back(), node);
        peaks_.pop_back();
    }
    peaks_.push_back(node);
    ++size_;
}

Digest LogFrontier::root() const { return fold_blocks(peaks_); }

}  // namespace eventstore::verify
