/*
 * identifiers.cpp — see identifiers.h.
 *
 * The checks are repeated here even though a UTF-8 database already rejects
 * invalid text on input: a SQL_ASCII database does not, and the stream id is
 * hashed into the chain, so it must be well-formed everywhere.
 */
#include "identifiers.h"

#include <cstdint>

#include "assert_no_postgres.h"

namespace eventstore {

bool is_valid_utf8(std::string_view text) noexcept
{
    const auto *p = reinterpret_cast<const std::uint8_t *>(text.data());
    const auto *end = p + text.size();
    while (p < end) {
        const std::uint8_t lead = *p;
        std::size_t length;
        std::uint32_t min_code, code;
        if (lead < 0x80) {
            ++p;
            continue;
        } else if ((lead & 0xE0) == 0xC0) {
            length = 2, min_code = 0x80, code = lead & 0x1F;
        } else if ((lead & 0xF0) == 0xE0) {
            length = 3, min_code = 0x800, code = lead & 0x0F;
        } else if ((lead & 0xF8) == 0xF0) {
            length = 4, min_code = 0x10000, code = lead & 0x07;
        } else {
            return false;
        }
        if (static_cast<std::size_t>(end - p) < length)
            return false;
        for (std::size_t i = 1; i < length; ++i) {
            if ((p[i] & 0xC0) != 0x80)
                return false;
            code = (code << 6) | (p[i] & 0x3F);
        }
        if (code < min_code || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF))
            return false;
        p += length;
    }
    return true;
}

IdentifierProblem check_identifier(std::string_view text) noexcept
{
    if (text.empty())
        return IdentifierProblem::empty;
    if (text.size() > kMaxIdentifierBytes)
        return IdentifierProblem::too_long;
    if (text.find('\0') != std::string_view::npos)
        return IdentifierProblem::contains_nul;
    if (!is_valid_utf8(text))
        return IdentifierProblem::invalid_utf8;
    return IdentifierProblem::none;
}

const char *describe_identifier_problem(IdentifierProblem problem) noexcept
{
    switch (problem) {
    case IdentifierProblem::none:
        return "is valid";
    case IdentifierProblem::empty:
        return "is empty";
    case IdentifierProblem::too_long:
        return "is longer than 255 bytes";
    case IdentifierProblem::contains_nul:
        return "contains a NUL byte";
    case IdentifierProblem::invalid_utf8:
        return "is not valid UTF-8";
    }
    return "is invalid";
}

std::string_view stream_category(std::string_view stream_id) noexcept
{
    const auto dash = stream_id.find('-');
    return dash == std::string_view::npos ? stream_id : stream_id.substr(0, dash);
}

}  // namespace eventstore
