/*
 * proof_check.cpp — see proof_check.h.  The Merkle algorithms are core's
 * (verify_inclusion, verify_consistency, merkle_leaf_hash): a handful of
 * proofs does not need the walk's speed.
 */
#include "proof_check.h"

#include <vector>

#include "core/merkle.h"
#include "errors.h"
#include "flat_json.h"
#include "scalars.h"

namespace eventstore::verify {
namespace {

/* Reads the fields of one proof object, failing with the proof's name. */
class ProofFields {
public:
    ProofFields(const FlatObject &object, const std::string &origin) : object_(object), origin_(origin) {}

    [[noreturn]] void fail(const std::string &what) const { throw Failure("proof " + origin_ + ": " + what); }

    const JsonValue &get(const char *key) const
    {
        const JsonValue *value = object_.find(key);
        if (value == nullptr)
            fail(std::string("no \"") + key + "\"");
        return *value;
    }

    std::uint64_t integer(const char *key) const
    {
        std::uint64_t value = 0;
        if (!as_uint64(get(key), value))
            fail(std::string("\"") + key + "\" is not a non-negative integer");
        return value;
    }

    Digest digest(const char *key) const
    {
        const JsonValue &value = get(key);
        Digest out{};
        if (value.kind != JsonValue::Kind::string || !parse_hex(value.text, out))
            fail(std::string("\"") + key + "\" is not 64 lowercase hex digits");
        return out;
    }

    std::vector<Digest> path(const char *key) const
    {
        const JsonValue &value = get(key);
        if (value.kind != JsonValue::Kind::string_array)
            fail(std::string("\"") + key + "\" is not an array of hashes");
        std::vector<Digest> out(value.items.size());
        for (std::size_t i = 0; i < out.size(); ++i)
            if (!parse_hex(value.items[i], out[i]))
                fail(std::string("\"") + key + "\"[" + std::to_string(i) + "] is not 64 lowercase hex digits");
        return out;
    }

    /* The anchored checkpoint of this size, whose root must be `root`. */
    void anchored(const CheckpointSet &anchors, std::uint64_t size, const Digest &root, const char *what) const
    {
        const Checkpoint *cp = anchors.find_by_size(size);
        if (cp == nullptr)
            fail(std::string("no anchored checkpoint has tree size ") + std::to_string(size) + " (the " + what +
                 " cannot be trusted)");
        if (cp->root_hash != root)
            fail(std::string("the ") + what + " differs from the root of checkpoint " + std::to_string(cp->number) +
                 " (tree size " + std::to_string(size) + ")");
    }

private:
    const FlatObject &object_;
    const std::string &origin_;
};

}  // namespace

std::optional<LedgerClaim> check_proof(std::string_view text, const std::string &origin, const CheckpointSet &anchors)
{
    FlatObject object;
    try {
        object = parse_flat_object(text);
    } catch (const FormatError &e) {
        throw Failure("proof " + origin + ": not a proof: " + e.what());
    }
    const ProofFields proof(object, origin);
    const JsonValue &type = proof.get("type");
    if (type.kind == JsonValue::Kind::string && type.text == "inclusion") {
        const std::uint64_t position = proof.integer("global_position");
        const std::uint64_t size = proof.integer("tree_size");
        const Digest ledger = proof.digest("ledger_hash");
        const Digest leaf = proof.digest("leaf_hash");
        const std::vector<Digest> path = proof.path("path");
        const Digest root = proof.digest("root_hash");
        if (position < 1 || position > size)
            proof.fail("global position " + std::to_string(position) + " is not in a tree of size " +
                       std::to_string(size));
        if (merkle_leaf_hash(ledger) != leaf)
            proof.fail("the leaf hash is not the leaf of the ledger hash");
        if (!verify_inclusion(leaf, position - 1, size, path, root))
            proof.fail("the audit path does not lead from position " + std::to_string(position) +
                       " to the root of tree size " + std::to_string(size));
        proof.anchored(anchors, size, root, "root");
        return LedgerClaim{position, ledger, origin};
    }
    if (type.kind == JsonValue::Kind::string && type.text == "consistency") {
        const std::uint64_t old_size = proof.integer("old_size");
        const std::uint64_t new_size = proof.integer("new_size");
        const std::vector<Digest> path = proof.path("path");
        const Digest old_root = proof.digest("old_root");
        const Digest new_root = proof.digest("new_root");
        if (!verify_consistency(old_size, new_size, old_root, new_root, path))
            proof.fail("the consistency proof from tree size " + std::to_string(old_size) + " to " +
                       std::to_string(new_size) + " does not hold");
        proof.anchored(anchors, old_size, old_root, "old root");
        proof.anchored(anchors, new_size, new_root, "new root");
        return std::nullopt;
    }
    proof.fail("\"type\" is neither \"inclusion\" nor \"consistency\"");
}

}  // namespace eventstore::verify
