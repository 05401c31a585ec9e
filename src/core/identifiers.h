/*
 * identifiers.h — validation of stream ids and event types, and categories.
 *
 * A stream id is 1..255 bytes of valid UTF-8 without NUL; its category is the
 * part before the first '-' ("account-42" -> "account"), or the whole id when
 * it has no '-'.  An event type follows the same byte rules.
 */
#ifndef EVENTSTORE_CORE_IDENTIFIERS_H
#define EVENTSTORE_CORE_IDENTIFIERS_H

#include <cstddef>
#include <string_view>

namespace eventstore {

constexpr std::size_t kMaxIdentifierBytes = 255;

enum class IdentifierProblem { none, empty, too_long, contains_nul, invalid_utf8 };

IdentifierProblem check_identifier(std::string_view text) noexcept;

/* "is empty", "is longer than 255 bytes", ... for error messages. */
const char *describe_identifier_problem(IdentifierProblem problem) noexcept;

std::string_view stream_category(std::string_view stream_id) noexcept;

/* Strict UTF-8 (no overlongs, no surrogates, at most U+10FFFF). */
bool is_valid_utf8(std::string_view text) noexcept;

}  // namespace eventstore

#endif
