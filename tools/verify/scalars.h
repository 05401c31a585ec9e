/*
 * scalars.h — strict parsers for the scalar texts in the verifier's inputs
 * (integers, lowercase hex digests, uuids) and a printable rendering of
 * untrusted text for FAIL messages.
 *
 * Strict, because every input is untrusted: "0012", " 12" or an uppercase
 * digest are not what the database writes, and accepting them would only
 * widen what a forger can play with.  These run for every row of the log,
 * so they are plain loops without allocation.
 */
#ifndef EVENTSTORE_VERIFY_SCALARS_H
#define EVENTSTORE_VERIFY_SCALARS_H

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace eventstore::verify {

/* A decimal integer as PostgreSQL prints one: optional '-', digits, no leading zeros, in range. */
bool parse_int64(std::string_view text, std::int64_t &out);

/* Exactly 2 * size lowercase hex digits into `out` (size bytes). */
bool parse_hex(std::string_view text, std::uint8_t *out, std::size_t size);

template <std::size_t N>
bool parse_hex(std::string_view text, std::array<std::uint8_t, N> &out)
{
    return parse_hex(text, out.data(), N);
}

/* A uuid in its 8-4-4-4-12 text form (either case, as uuid input accepts) into its 16 bytes. */
bool parse_uuid(std::string_view text, std::array<std::uint8_t, 16> &out);

/*
 * Text from the inputs made safe for a one-line message: backslash and
 * control bytes as C escapes, at most `limit` bytes shown ("..." after).
 */
std::string printable(std::string_view text, std::size_t limit = 120);

}  // namespace eventstore::verify

#endif
