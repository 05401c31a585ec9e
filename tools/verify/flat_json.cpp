/*
 * flat_json.cpp — see flat_json.h.  A recursive-descent parser over the
 * RFC 8259 grammar, restricted to the values flat_json.h lists.
 */
#include "flat_json.h"

#include "errors.h"

namespace eventstore::verify {
namespace {

class Parser {
public:
    explicit Parser(std::string_view text) : text_(text) {}

    std::vector<std::pair<std::string, JsonValue>> object()
    {
        std::vector<std::pair<std::string, JsonValue>> members;
        skip_space();
        expect('{');
        skip_space();
        if (peek() == '}') {
            ++pos_;
        } else {
            for (;;) {
                skip_space();
                if (peek() != '"')
                    fail("expected a key");
                const std::size_t key_at = pos_;
                std::string key = string();
                for (const auto &member : members)
                    if (member.first == key)
                        fail_at(key_at, "duplicated key \"" + key + "\"");
                skip_space();
                expect(':');
                skip_space();
                members.emplace_back(std::move(key), value());
                skip_space();
                if (peek() == ',') {
                    ++pos_;
                    continue;
                }
                expect('}');
                break;
            }
        }
        skip_space();
        if (pos_ != text_.size())
            fail("text after the object");
        return members;
    }

private:
    [[noreturn]] void fail_at(std::size_t at, const std::string &what)
    {
        throw FormatError("JSON: " + what + " at byte " + std::to_string(at));
    }
    [[noreturn]] void fail(const std::string &what) { fail_at(pos_, what); }

    /* The next byte, or NUL at the end (NUL is never valid where peek() is used). */
    char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }

    void expect(char c)
    {
        if (peek() != c)
            fail(std::string("expected '") + c + "'");
        ++pos_;
    }

    void skip_space()
    {
        while (pos_ < text_.size() &&
               (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r'))
            ++pos_;
    }

    JsonValue value()
    {
        JsonValue v;
        const char c = peek();
        if (c == '"') {
            v.kind = JsonValue::Kind::string;
            v.text = string();
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            v.kind = JsonValue::Kind::number;
            v.text = number();
        } else if (text_.substr(pos_, 4) == "null") {
            v.kind = JsonValue::Kind::null;
            pos_ += 4;
        } else if (c == '[') {
            v.kind = JsonValue::Kind::string_array;
            ++pos_;
            skip_space();
            if (peek() == ']') {
                ++pos_;
                return v;
            }
            for (;;) {
                skip_space();
                if (peek() != '"')
                    fail("expected a string in the array (only arrays of strings are accepted)");
                v.items.push_back(string());
                skip_space();
                if (peek() == ',') {
                    ++pos_;
                    continue;
                }
                expect(']');
                break;
            }
        } else {
            fail("expected a string, a number, null or an array of strings");
        }
        return v;
    }

    std::string number()
    {
        const std::size_t start = pos_;
        auto digits = [this] {
            const std::size_t from = pos_;
            while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9')
                ++pos_;
            return pos_ - from;
        };
        if (peek() == '-')
            ++pos_;
        if (peek() == '0')
            ++pos_; /* no leading zeros: "0" stands alone */
        else if (digits() == 0)
            fail("malformed number");
        if (peek() == '.') {
            ++pos_;
            if (digits() == 0)
                fail("malformed number");
        }
        if (peek() == 'e' || peek() == 'E') {
            ++pos_;
            if (peek() == '+' || peek() == '-')
                ++pos_;
            if (digits() == 0)
                fail("malformed number");
        }
        return std::string(text_.substr(start, pos_ - start));
    }

    unsigned hex4()
    {
        unsigned value = 0;
        for (int i = 0; i < 4; ++i) {
            const char c = peek();
            unsigned digit;
            if (c >= '0' && c <= '9')
                digit = c - '0';
            else if (c >= 'a' && c <= 'f')
                digit = c - 'a' + 10;
            else if (c >= 'A' && c <= 'F')
                digit = c - 'A' + 10;
            else
                fail("malformed \\u escape");
            value = value * 16 + digit;
            ++pos_;
        }
        return value;
    }

    static void put_utf8(std::string &out, unsigned cp)
    {
        if (cp < 0x80) {
            out.push_back(static_cast<char>(cp));
        } else if (cp < 0x800) {
            out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
        } else if (cp < 0x10000) {
            out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
            out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
        } else {
            out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
            out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
            out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
        }
    }

    std::string string()
    {
        expect('"');
        std::string out;
        for (;;) {
            if (pos_ >= text_.size())
                fail("unterminated string");
            const char c = text_[pos_++];
            if (c == '"')
                return out;
            if (static_cast<unsigned char>(c) < 0x20)
                fail_at(pos_ - 1, "control character in a string");
            if (c != '\\') {
                out.push_back(c);
                continue;
            }
            const char e = peek();
            ++pos_;
            switch (e) {
            case '"': out.push_back('"'); break;
            case '\\': out.push_back('\\'); break;
            case '/': out.push_back('/'); break;
            case 'b': out.push_back('\b'); break;
            case 'f': out.push_back('\f'); break;
            case 'n': out.push_back('\n'); break;
            case 'r': out.push_back('\r'); break;
            case 't': out.push_back('\t'); break;
            case 'u': {
                unsigned cp = hex4();
                if (cp >= 0xd800 && cp < 0xdc00) { /* a high surrogate needs its low half */
                    if (text_.substr(pos_, 2) != "\\u")
                        fail("unpaired surrogate in a \\u escape");
                    pos_ += 2;
                    const unsigned low = hex4();
                    if (low < 0xdc00 || low >= 0xe000)
                        fail("unpaired surrogate in a \\u escape");
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
                } else if (cp >= 0xdc00 && cp < 0xe000) {
                    fail("unpaired surrogate in a \\u escape");
                }
                put_utf8(out, cp);
                break;
            }
            default:
                fail_at(pos_ - 1, "unknown escape in a string");
            }
        }
    }

    std::string_view text_;
    std::size_t pos_ = 0;
};

}  // namespace

const char *describe_kind(JsonValue::Kind kind)
{
    switch (kind) {
    case JsonValue::Kind::string: return "a string";
    case JsonValue::Kind::number: return "a number";
    case JsonValue::Kind::null: return "null";
    case JsonValue::Kind::string_array: return "an array";
    }
    return "?";
}

const JsonValue *FlatObject::find(std::string_view key) const
{
    for (const auto &member : members_)
        if (member.first == key)
            return &member.second;
    return nullptr;
}

FlatObject parse_flat_object(std::string_view text)
{
    FlatObject object;
    object.members_ = Parser(text).object();
    return object;
}

bool as_uint64(const JsonValue &value, std::uint64_t &out)
{
    if (value.kind != JsonValue::Kind::number || value.text.empty() || value.text.size() > 19)
        return false;
    std::uint64_t n = 0;
    for (const char c : value.text) {
        if (c < '0' || c > '9')
            return false;
        n = n * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (n > static_cast<std::uint64_t>(INT64_MAX))
        return false;
    out = n;
    return true;
}

}  // namespace eventstore::verify
