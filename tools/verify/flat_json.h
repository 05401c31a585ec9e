/*
 * flat_json.h — a minimal reader for the flat JSON objects the verifier is
 * given: checkpoint lines and proofs.
 *
 * Those objects are one level deep and hold only strings, numbers, null and
 * arrays of strings, so a full JSON library would be a dependency for
 * nothing.  This reader accepts exactly that subset of RFC 8259 (any
 * whitespace, any key order) and refuses everything else, including
 * duplicated keys: an object that says two things about one key proves
 * nothing, whichever of them a JSON library would keep.
 *
 * Numbers are kept as their text (validated against the JSON grammar);
 * as_uint64() turns a plain non-negative integer into a value.
 */
#ifndef EVENTSTORE_VERIFY_FLAT_JSON_H
#define EVENTSTORE_VERIFY_FLAT_JSON_H

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace eventstore::verify {

struct JsonValue {
    enum class Kind { string, number, null, string_array };
    Kind kind = Kind::null;
    std::string text;               /* a string's decoded UTF-8, or a number's text */
    std::vector<std::string> items; /* an array's decoded strings */
};

/* The kind as a word for error messages: "a string", "null", ... */
const char *describe_kind(JsonValue::Kind kind);

class FlatObject {
public:
    /* The member's value, or nullptr when the key is absent. */
    const JsonValue *find(std::string_view key) const;
    /* Members in the order they appear. */
    const std::vector<std::pair<std::string, JsonValue>> &members() const { return members_; }

private:
    friend FlatObject parse_flat_object(std::string_view text);
    std::vector<std::pair<std::string, JsonValue>> members_;
};

/* Parses one object; throws FormatError saying what is wrong and at which byte offset. */
FlatObject parse_flat_object(std::string_view text);

/*
 * A number that is a plain decimal integer in [0, 2^63 - 1] (positions and
 * sizes are PostgreSQL bigints); false for anything else (-1, 1.0, 1e3).
 */
bool as_uint64(const JsonValue &value, std::uint64_t &out);

}  // namespace eventstore::verify

#endif
