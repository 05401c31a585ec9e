/*
 * test_merkle.cpp — the Merkle tree over the global log: roots against a
 * straight recursive RFC 9162 MTH, every audit path and consistency proof of
 * small trees built from blocks and checked by the verifiers, and tampered
 * proofs refused.
 *
 * The fixed root below comes from an independent Python computation:
 *   ledger(i) = sha256(b"ledger" + bytes([i])); leaf = sha256(b"\x00" + ledger)
 *   node(l, r) = sha256(b"\x01" + l + r); MTH as in RFC 9162 section 2.1.1
 */
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/merkle.h"

namespace eventstore {
namespace {

Digest ledger_of(int i)
{
    const std::string input = std::string("ledger") + static_cast<char>(i);
    return sha256(input);
}

std::vector<Digest> leaves(int count)
{
    std::vector<Digest> out;
    for (int i = 0; i < count; i++)
        out.push_back(merkle_leaf_hash(ledger_of(i)));
    return out;
}

/* MTH(D[begin:end]) straight from RFC 9162, the reference everything is checked against. */
Digest reference_root(const std::vector<Digest> &leaf_hashes, std::uint64_t begin, std::uint64_t end)
{
    const std::uint64_t n = end - begin;
    if (n == 0)
        return merkle_empty_root();
    if (n == 1)
        return leaf_hashes[begin];
    std::uint64_t k = 1;
    while (k * 2 < n)
        k *= 2;
    return merkle_node_hash(reference_root(leaf_hashes, begin, begin + k), reference_root(leaf_hashes, begin + k, end));
}

/* A subtree's root the way the store computes it: from its blocks. */
Digest root_from_blocks(const std::vector<Digest> &leaf_hashes, const MerkleSubtree &subtree)
{
    std::vector<Digest> block_hashes;
    for (const MerkleBlock &block : subtree.blocks) {
        const std::uint64_t begin = block.index << block.level;
        block_hashes.push_back(reference_root(leaf_hashes, begin, begin + (std::uint64_t{1} << block.level)));
    }
    return fold_blocks(block_hashes);
}

std::vector<Digest> proof_hashes(const std::vector<Digest> &leaf_hashes, const std::vector<MerkleSubtree> &subtrees)
{
    std::vector<Digest> out;
    for (const MerkleSubtree &subtree : subtrees) {
        EXPECT_EQ(root_from_blocks(leaf_hashes, subtree), reference_root(leaf_hashes, subtree.begin, subtree.end))
            << "subtree [" << subtree.begin << ", " << subtree.end << ")";
        out.push_back(root_from_blocks(leaf_hashes, subtree));
    }
    return out;
}

TEST(Merkle, EmptyTreeRootIsTheHashOfNothing)
{
    EXPECT_EQ(to_hex(merkle_empty_root()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(MerkleFrontier().root(), merkle_empty_root());
}

TEST(Merkle, SevenLeavesMatchAnIndependentComputation)
{
    const std::vector<Digest> leaf_hashes = leaves(7);
    EXPECT_EQ(to_hex(reference_root(leaf_hashes, 0, 7)),
              "d74047872ccbbd239fe54b91e3afe5d35f1624000d2290abeaf6731d1dea7086");
}

TEST(Merkle, FrontierRootEqualsTheReferenceAtEverySize)
{
    const std::vector<Digest> leaf_hashes = leaves(300);
    MerkleFrontier frontier;
    for (std::uint64_t n = 1; n <= leaf_hashes.size(); n++) {
        const auto completed = frontier.append(leaf_hashes[n - 1]);
        ASSERT_EQ(frontier.root(), reference_root(leaf_hashes, 0, n)) << "size " << n;
        for (const auto &done : completed) {
            const std::uint64_t begin = done.block.index << done.block.level;
            EXPECT_EQ(done.hash, reference_root(leaf_hashes, begin, begin + (std::uint64_t{1} << done.block.level)));
            EXPECT_LE(begin + (std::uint64_t{1} << done.block.level), n);
        }
    }
}

TEST(Merkle, DecomposeCoversTheRangeWithAlignedBlocksLargestFirst)
{
    const auto blocks = decompose(0, 300);
    ASSERT_EQ(blocks.size(), 4u); /* 256 + 32 + 8 + 4 */
    EXPECT_EQ(blocks[0], (MerkleBlock{8, 0}));
    EXPECT_EQ(blocks[1], (MerkleBlock{5, 8}));
    EXPECT_EQ(blocks[2], (MerkleBlock{3, 36}));
    EXPECT_EQ(blocks[3], (MerkleBlock{2, 74}));
    EXPECT_EQ(decompose(256, 512), (std::vector<MerkleBlock>{{8, 1}}));
}

TEST(Merkle, EveryAuditPathOfSmallTreesVerifies)
{
    const std::vector<Digest> leaf_hashes = leaves(40);
    for (std::uint64_t n = 1; n <= 40; n++) {
        const Digest root = reference_root(leaf_hashes, 0, n);
        for (std::uint64_t m = 0; m < n; m++) {
            const std::vector<Digest> path = proof_hashes(leaf_hashes, inclusion_subtrees(m, n));
            ASSERT_TRUE(verify_inclusion(leaf_hashes[m], m, n, path, root)) << m << " in " << n;
            EXPECT_FALSE(verify_inclusion(leaf_hashes[(m + 1) % n], m, n, path, root) && n > 1);
            if (!path.empty()) {
                std::vector<Digest> bad = path;
                bad[0][0] ^= 1;
                EXPECT_FALSE(verify_inclusion(leaf_hashes[m], m, n, bad, root));
                bad = path;
                bad.pop_back();
                EXPECT_FALSE(verify_inclusion(leaf_hashes[m], m, n, bad, root));
            }
            EXPECT_FALSE(verify_inclusion(leaf_hashes[m], n, n, path, root));
        }
    }
}

TEST(Merkle, EveryConsistencyProofOfSmallTreesVerifies)
{
    const std::vector<Digest> leaf_hashes = leaves(40);
    for (std::uint64_t n = 1; n <= 40; n++) {
        const Digest new_root = reference_root(leaf_hashes, 0, n);
        for (std::uint64_t m = 1; m <= n; m++) {
            const Digest old_root = reference_root(leaf_hashes, 0, m);
            const std::vector<Digest> proof = proof_hashes(leaf_hashes, consistency_subtrees(m, n));
            ASSERT_TRUE(verify_consistency(m, n, old_root, new_root, proof)) << m << " -> " << n;
            Digest other_old = old_root;
            other_old[5] ^= 0x80;
            EXPECT_FALSE(verify_consistency(m, n, other_old, new_root, proof)) << m << " -> " << n;
            if (!proof.empty()) {
                std::vector<Digest> bad = proof;
                bad.back()[0] ^= 1;
                EXPECT_FALSE(verify_consistency(m, n, old_root, new_root, bad)) << m << " -> " << n;
            }
        }
    }
}

TEST(Merkle, AHistoryChangedBeforeTheOldSizeBreaksConsistency)
{
    std::vector<Digest> leaf_hashes = leaves(20);
    const Digest old_root = reference_root(leaf_hashes, 0, 12);
    leaf_hashes[3][0] ^= 1; /* a rewritten event inside the old tree */
    const Digest new_root = reference_root(leaf_hashes, 0, 20);
    const std::vector<Digest> proof = proof_hashes(leaf_hashes, consistency_subtrees(12, 20));
    EXPECT_FALSE(verify_consistency(12, 20, old_root, new_root, proof));
}

}  // namespace
}  // namespace eventstore
