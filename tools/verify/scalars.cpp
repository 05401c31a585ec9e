/*
 * scalars.cpp — see scalars.h.
 */
#include "scalars.h"

namespace eventstore::verify {
namespace {

/*
 * Hex digit values by byte, -1 for anything but 0-9 a-f (uppercase is
 * refused: digests are written lowercase).  A table, not comparisons: the
 * digits of a hash are random, so a branch per digit mispredicts about
 * half the time, and two digests per row made parse_hex a quarter of the
 * verifier's time before this table.
 */
struct HexTable {
    std::int8_t value[256];
    constexpr explicit HexTable(bool uppercase_too) : value()
    {
        for (int c = 0; c < 256; ++c)
            value[c] = -1;
        for (int c = '0'; c <= '9'; ++c)
            value[c] = static_cast<std::int8_t>(c - '0');
        for (int c = 'a'; c <= 'f'; ++c)
            value[c] = static_cast<std::int8_t>(c - 'a' + 10);
        for (int c = 'A'; uppercase_too && c <= 'F'; ++c)
            value[c] = static_cast<std::int8_t>(c - 'A' + 10);
    }
};
constexpr HexTable kLowerHex(false);
constexpr HexTable kAnyHex(true); /* uuid input accepts either case */

inline int lower_hex_value(char c) { return kLowerHex.value[static_cast<unsigned char>(c)]; }
inline int any_hex_value(char c) { return kAnyHex.value[static_cast<unsigned char>(c)]; }

}  // namespace

bool parse_int64(std::string_view text, std::int64_t &out)
{
    bool negative = false;
    if (!text.empty() && text[0] == '-') {
        negative = true;
        text.remove_prefix(1);
    }
    if (text.empty() || text.size() > 19 || (text[0] == '0' && (text.size() > 1 || negative)))
        return false;
    std::uint64_t magnitude = 0;
    for (const char c : text) {
        if (c < '0' || c > '9')
            return false;
        magnitude = magnitude * 10 + static_cast<std::uint64_t>(c - '0');
    }
    const std::uint64_t limit = negative ? std::uint64_t{1} << 63 : (std::uint64_t{1} << 63) - 1;
    if (magnitude > limit)
        return false;
    out = negative ? static_cast<std::int64_t>(0 - magnitude) : static_cast<std::int64_t>(magnitude);
    return true;
}

bool parse_hex(std::string_view text, std::uint8_t *out, std::size_t size)
{
    if (text.size() != size * 2)
        return false;
    /* One test at the end instead of one per digit: any -1 makes `bad` negative. */
    int bad = 0;
    for (std::size_t i = 0; i < size; ++i) {
        const int high = lower_hex_value(text[2 * i]);
        const int low = lower_hex_value(text[2 * i + 1]);
        bad |= high | low;
        out[i] = static_cast<std::uint8_t>((high & 0xf) << 4 | (low & 0xf)); /* garbage if bad; then unused */
    }
    return bad >= 0;
}

bool parse_uuid(std::string_view text, std::array<std::uint8_t, 16> &out)
{
    if (text.size() != 36 || text[8] != '-' || text[13] != '-' || text[18] != '-' || text[23] != '-')
        return false;
    /* The groups 8-4-4-4-12 are all of even length: pairs never straddle a dash. */
    static constexpr std::uint8_t kPairAt[16] = {0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34};
    int bad = 0;
    for (std::size_t i = 0; i < 16; ++i) {
        const int high = any_hex_value(text[kPairAt[i]]);
        const int low = any_hex_value(text[kPairAt[i] + 1]);
        bad |= high | low;
        out[i] = static_cast<std::uint8_t>((high & 0xf) << 4 | (low & 0xf)); /* garbage if bad; then unused */
    }
    return bad >= 0;
}

std::string printable(std::string_view text, std::size_t limit)
{
    static const char digits[] = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (i == limit) {
            out += "...";
            break;
        }
        const auto c = static_cast<unsigned char>(text[i]);
        switch (c) {
        case '\\': out += "\\\\"; break;
        case '\t': out += "\\t"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        default:
            if (c < 0x20 || c == 0x7f) {
                out += "\\x";
                out.push_back(digits[c >> 4]);
                out.push_back(digits[c & 15]);
            } else {
                out.push_back(static_cast<char>(c)); /* UTF-8 passes through */
            }
        }
    }
    return out;
}

}  // namespace eventstore::verify
