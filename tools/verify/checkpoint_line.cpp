/*
 * checkpoint_line.cpp — see checkpoint_line.h.
 */
#include "checkpoint_line.h"

#include "core/checkpoint.h"

#include "errors.h"
#include "flat_json.h"
#include "scalars.h"

namespace eventstore::verify {
namespace {

constexpr const char *kKeys[] = {"checkpoint", "tree_size", "root_hash", "ledger_head",
                                 "created_at", "key_id",    "signature"};

const JsonValue &member(const FlatObject &object, const char *key)
{
    const JsonValue *value = object.find(key);
    if (value == nullptr)
        throw FormatError(std::string("no \"") + key + "\"");
    return *value;
}

std::uint64_t integer(const FlatObject &object, const char *key)
{
    std::uint64_t value = 0;
    if (!as_uint64(member(object, key), value))
        throw FormatError(std::string("\"") + key + "\" is not a non-negative integer");
    return value;
}

template <std::size_t N>
void hex(const JsonValue &value, const char *key, std::array<std::uint8_t, N> &out)
{
    if (value.kind != JsonValue::Kind::string || !parse_hex(value.text, out))
        throw FormatError(std::string("\"") + key + "\" is not " + std::to_string(2 * N) + " lowercase hex digits");
}

}  // namespace

Checkpoint parse_checkpoint_line(std::string_view line)
{
    const FlatObject object = parse_flat_object(line);
    for (const auto &m : object.members()) {
        bool known = false;
        for (const char *key : kKeys)
            known = known || m.first == key;
        if (!known)
            throw FormatError("unknown key \"" + printable(m.first) + "\"");
    }

    Checkpoint cp;
    cp.line = std::string(line);
    cp.number = integer(object, "checkpoint");
    cp.tree_size = integer(object, "tree_size");
    hex(member(object, "root_hash"), "root_hash", cp.root_hash);
    hex(member(object, "ledger_head"), "ledger_head", cp.ledger_head);

    /* created_at is signed as it is written, so its exact form is the
       database's business; it only must not be able to forge the framing
       of the signed message (a newline would), nor be anything but text. */
    const JsonValue &created_at = member(object, "created_at");
    if (created_at.kind != JsonValue::Kind::string || created_at.text.empty())
        throw FormatError("\"created_at\" is not a non-empty string");
    for (const char c : created_at.text)
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f)
            throw FormatError("\"created_at\" holds a character other than printable ASCII");
    cp.created_at = created_at.text;

    const JsonValue &key_id = member(object, "key_id");
    const JsonValue &signature = member(object, "signature");
    const bool key_null = key_id.kind == JsonValue::Kind::null;
    const bool signature_null = signature.kind == JsonValue::Kind::null;
    if (key_null != signature_null)
        throw FormatError("\"key_id\" and \"signature\" must be both null or both set");
    cp.is_signed = !key_null;
    if (cp.is_signed) {
        hex(key_id, "key_id", cp.key_id);
        hex(signature, "signature", cp.signature);
    }
    return cp;
}

std::string signed_message(const Checkpoint &checkpoint)
{
    /* The signer's own definition of the bytes (src/core/checkpoint.h), not a second one. */
    CheckpointStatement statement;
    statement.checkpoint = checkpoint.number;
    statement.tree_size = checkpoint.tree_size;
    statement.root_hash = checkpoint.root_hash;
    statement.ledger_head = checkpoint.ledger_head;
    statement.created_at = checkpoint.created_at;
    statement.key_id = to_hex(checkpoint.key_id);
    return checkpoint_signed_bytes(statement);
}

}  // namespace eventstore::verify
