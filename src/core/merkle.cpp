/*
 * merkle.cpp — see merkle.h.  The proof and verification algorithms follow
 * RFC 9162 sections 2.1.3 and 2.1.4 step by step, so a reader can check
 * them against the RFC side by side.
 */
#include "merkle.h"

#include "assert_no_postgres.h"

namespace eventstore {
namespace {

/* The largest power of two strictly below n (n >= 2). */
std::uint64_t split_point(std::uint64_t n)
{
    std::uint64_t k = 1;
    while (k << 1 < n)
        k <<= 1;
    return k;
}

MerkleSubtree subtree(std::uint64_t begin, std::uint64_t end)
{
    return MerkleSubtree{begin, end, decompose(begin, end)};
}

/* PATH(m, D[begin:end]) of RFC 9162, appended bottom to top. */
void add_path(std::uint64_t m, std::uint64_t begin, std::uint64_t end, std::vector<MerkleSubtree> &out)
{
    const std::uint64_t n = end - begin;
    if (n <= 1)
        return;
    const std::uint64_t k = split_point(n);
    if (m < k) {
        add_path(m, begin, begin + k, out);
        out.push_back(subtree(begin + k, end));
    } else {
        add_path(m - k, begin + k, end, out);
        out.push_back(subtree(begin, begin + k));
    }
}

/* SUBPROOF(m, D[begin:end], b) of RFC 9162. */
void add_subproof(std::uint64_t m, std::uint64_t begin, std::uint64_t end, bool whole_old_tree,
                  std::vector<MerkleSubtree> &out)
{
    const std::uint64_t n = end - begin;
    if (m == n) {
        if (!whole_old_tree)
            out.push_back(subtree(begin, end));
        return;
    }
    const std::uint64_t k = split_point(n);
    if (m <= k) {
        add_subproof(m, begin, begin + k, whole_old_tree, out);
        out.push_back(subtree(begin + k, end));
    } else {
        add_subproof(m - k, begin + k, end, false, out);
        out.push_back(subtree(begin, begin + k));
    }
}

bool lowest_bit(std::uint64_t value) { return (value & 1) != 0; }

}  // namespace

Digest merkle_leaf_hash(const Digest &ledger_hash)
{
    const std::uint8_t prefix = 0x00;
    Sha256 &hasher = reused_sha256();
    hasher.update(&prefix, 1);
    hasher.update(ledger_hash.data(), ledger_hash.size());
    return hasher.finish();
}

Digest merkle_node_hash(const Digest &left, const Digest &right)
{
    const std::uint8_t prefix = 0x01;
    Sha256 &hasher = reused_sha256();
    hasher.update(&prefix, 1);
    hasher.update(left.data(), left.size());
    hasher.update(right.data(), right.size());
    return hasher.finish();
}

Digest merkle_empty_root() { return sha256(std::string_view()); }

std::vector<MerkleBlock> decompose(std::uint64_t begin, std::uint64_t end)
{
    std::vector<MerkleBlock> blocks;
    while (begin < end) {
        int level = 0;
        while (level < 63 && (begin & ((std::uint64_t{2} << level) - 1)) == 0 &&
               begin + (std::uint64_t{2} << level) <= end)
            level++;
        blocks.push_back(MerkleBlock{level, begin >> level});
        begin += std::uint64_t{1} << level;
    }
    return blocks;
}

Digest fold_blocks(const std::vector<Digest> &block_hashes)
{
    if (block_hashes.empty())
        return merkle_empty_root();
    Digest root = block_hashes.back();
    for (std::size_t i = block_hashes.size() - 1; i-- > 0;)
        root = merkle_node_hash(block_hashes[i], root);
    return root;
}

std::vector<MerkleSubtree> inclusion_subtrees(std::uint64_t index, std::uint64_t size)
{
    std::vector<MerkleSubtree> out;
    if (index < size)
        add_path(index, 0, size, out);
    return out;
}

std::vector<MerkleSubtree> consistency_subtrees(std::uint64_t old_size, std::uint64_t new_size)
{
    std::vector<MerkleSubtree> out;
    if (old_size > 0 && old_size < new_size)
        add_subproof(old_size, 0, new_size, true, out);
    return out;
}

bool verify_inclusion(const Digest &leaf_hash, std::uint64_t index, std::uint64_t size,
                      const std::vector<Digest> &path, const Digest &root)
{
    if (index >= size)
        return false;
    std::uint64_t fn = index;
    std::uint64_t sn = size - 1;
    Digest r = leaf_hash;
    for (const Digest &p : path) {
        if (sn == 0)
            return false;
        if (lowest_bit(fn) || fn == sn) {
            r = merkle_node_hash(p, r);
            if (!lowest_bit(fn))
                while (!lowest_bit(fn) && fn != 0) {
                    fn >>= 1;
                    sn >>= 1;
                }
        } else {
            r = merkle_node_hash(r, p);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return sn == 0 && r == root;
}

bool verify_consistency(std::uint64_t old_size, std::uint64_t new_size, const Digest &old_root,
                        const Digest &new_root, const std::vector<Digest> &proof)
{
    if (old_size == 0 || old_size > new_size)
        return false;
    if (old_size == new_size)
        return proof.empty() && old_root == new_root;
    std::vector<Digest> path = proof;
    if ((old_size & (old_size - 1)) == 0) /* a power of two: the old root is itself a node of the path */
        path.insert(path.begin(), old_root);
    if (path.empty())
        return false;
    std::uint64_t fn = old_size - 1;
    std::uint64_t sn = new_size - 1;
    while (lowest_bit(fn)) {
        fn >>= 1;
        sn >>= 1;
    }
    Digest fr = path[0];
    Digest sr = path[0];
    for (std::size_t i = 1; i < path.size(); i++) {
        const Digest &c = path[i];
        if (sn == 0)
            return false;
        if (lowest_bit(fn) || fn == sn) {
            fr = merkle_node_hash(c, fr);
            sr = merkle_node_hash(c, sr);
            if (!lowest_bit(fn))
                while (!lowest_bit(fn) && fn != 0) {
                    fn >>= 1;
                    sn >>= 1;
                }
        } else {
            sr = merkle_node_hash(sr, c);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return sn == 0 && fr == old_root && sr == new_root;
}

std::vector<MerkleFrontier::CompletedBlock> MerkleFrontier::append(const Digest &leaf_hash)
{
    std::vector<CompletedBlock> completed;
    add(leaf_hash, &completed);
    return completed;
}

void MerkleFrontier::push(const Digest &leaf_hash) { add(leaf_hash, nullptr); }

void MerkleFrontier::add(const Digest &leaf_hash, std::vector<CompletedBlock> *completed)
{
    Digest node = leaf_hash;
    int level = 0;
    if (completed != nullptr)
        completed->push_back(CompletedBlock{MerkleBlock{0, size_}, node});
    while ((size_ >> level) & 1) {
        node = merkle_node_hash(peaks_.back(), node);
        peaks_.pop_back();
        level++;
        if (completed != nullptr)
            completed->push_back(CompletedBlock{MerkleBlock{level, size_ >> level}, node});
    }
    peaks_.push_back(node);
    size_++;
}

Digest MerkleFrontier::root() const { return fold_blocks(peaks_); }

}  // namespace eventstore
