/*
 * merkle.h — the Merkle tree over the global log (RFC 9162, section 2.1),
 * its audit paths and consistency proofs.
 *
 * The chain and the ledger prove nothing to someone who does not trust the
 * database: whoever can write the tables can recompute them.  A Merkle tree
 * whose signed roots are kept outside the database (docs/tamper-evidence.md)
 * lets an auditor check that one event is in the log (an inclusion proof,
 * log2(n) hashes) and that a later root extends an earlier one without
 * changing anything (a consistency proof).
 *
 * The leaves are the log's positions in order: leaf i (0-based) is global
 * position i + 1, and its input is that position's 32-byte ledger hash,
 * which already commits to the event, its position and everything before.
 * Hashes are domain-separated as RFC 9162 requires:
 *
 *   leaf = SHA-256(0x00 || ledger_hash)     node = SHA-256(0x01 || left || right)
 *
 * and the root of the empty tree is SHA-256 of nothing.
 *
 * The tree is kept as "blocks": perfect subtrees of 2^level leaves aligned
 * at a multiple of their size (block (level, index) covers leaves
 * [index * 2^level, (index + 1) * 2^level)).  Every subtree an RFC 9162 proof
 * needs is either a block or the right edge of the tree, and the right edge
 * is its decomposition into blocks, largest first, folded from the right.
 * So proofs are built in two steps: ask which blocks a proof needs
 * (proof_blocks), fetch or compute their hashes, then fold them
 * (fold_subtrees).  The worker stores the blocks of level kStoredLevel and
 * up as the log grows; lower ones are computed from at most 2^kStoredLevel
 * ledger hashes.
 */
#ifndef EVENTSTORE_CORE_MERKLE_H
#define EVENTSTORE_CORE_MERKLE_H

#include <cstdint>
#include <vector>

#include "sha256.h"

namespace eventstore {

/* Blocks of this level and up (256 leaves) are stored; smaller ones are computed from the leaves. */
constexpr int kStoredLevel = 8;

Digest merkle_leaf_hash(const Digest &ledger_hash);
Digest merkle_node_hash(const Digest &left, const Digest &right);
/* The root of the empty tree: SHA-256 of no bytes. */
Digest merkle_empty_root();

/* A perfect, aligned subtree: leaves [index << level, (index + 1) << level). */
struct MerkleBlock {
    int level = 0;
    std::uint64_t index = 0;
    bool operator==(const MerkleBlock &other) const { return level == other.level && index == other.index; }
};

/* A subtree of a proof: leaves [begin, end), as the blocks it decomposes into, largest first. */
struct MerkleSubtree {
    std::uint64_t begin = 0;
    std::uint64_t end = 0;
    std::vector<MerkleBlock> blocks;
};

/* [begin, end) as aligned perfect blocks, largest first (begin must be aligned as in RFC 9162 subtrees). */
std::vector<MerkleBlock> decompose(std::uint64_t begin, std::uint64_t end);

/* The root of a subtree from its blocks' hashes, given in decompose() order. */
Digest fold_blocks(const std::vector<Digest> &block_hashes);

/*
 * The subtrees whose roots make the audit path of leaf `index` in a tree of
 * `size` leaves, bottom to top (RFC 9162 PATH(m, D[n])).  Requires index < size.
 */
std::vector<MerkleSubtree> inclusion_subtrees(std::uint64_t index, std::uint64_t size);

/*
 * The subtrees whose roots make the consistency proof from a tree of
 * old_size leaves to one of new_size, in proof order (RFC 9162
 * PROOF(m, D[n])).  Requires 0 < old_size <= new_size; empty when equal.
 */
std::vector<MerkleSubtree> consistency_subtrees(std::uint64_t old_size, std::uint64_t new_size);

/* Checks an audit path (RFC 9162 section 2.1.3.2). */
bool verify_inclusion(const Digest &leaf_hash, std::uint64_t index, std::uint64_t size,
                      const std::vector<Digest> &path, const Digest &root);

/* Checks a consistency proof (RFC 9162 section 2.1.4.2). */
bool verify_consistency(std::uint64_t old_size, std::uint64_t new_size, const Digest &old_root,
                        const Digest &new_root, const std::vector<Digest> &proof);

/*
 * The tree built leaf by leaf, keeping only its right edge (one block per
 * set bit of the size): the offline verifier's and the tests' way to get
 * the root at every size in one pass.  append() returns the blocks it
 * completed, smallest first, so a caller can store them.
 */
class MerkleFrontier {
public:
    struct CompletedBlock {
        MerkleBlock block;
        Digest hash;
    };

    std::vector<CompletedBlock> append(const Digest &leaf_hash);
    /* append() without the report: nothing allocated per leaf (the verifier's hot loop). */
    void push(const Digest &leaf_hash);
    Digest root() const;
    std::uint64_t size() const { return size_; }

private:
    void add(const Digest &leaf_hash, std::vector<CompletedBlock> *completed);

    std::uint64_t size_ = 0;
    std::vector<Digest> peaks_; /* right-edge blocks, largest first */
};

}  // namespace eventstore

#endif
