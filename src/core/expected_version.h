/*
 * expected_version.h — optimistic concurrency rules for appends.
 *
 *   absent (SQL NULL)  any version, the stream may or may not exist
 *   0                  the stream must not exist yet
 *   -1                 the stream must exist (version >= 1)
 *   N > 0              the current version must be exactly N
 *   below -1           invalid input, rejected before anything is read
 */
#ifndef EVENTSTORE_CORE_EXPECTED_VERSION_H
#define EVENTSTORE_CORE_EXPECTED_VERSION_H

#include <cstdint>
#include <optional>
#include <string>

namespace eventstore {

constexpr std::int64_t kExpectNoStream = 0;
constexpr std::int64_t kExpectExistingStream = -1;

/* False for values below -1. */
bool expected_version_is_valid(std::int64_t expected) noexcept;

/* Does a stream at current_version (0 = absent) satisfy the expectation? */
bool expected_version_matches(std::optional<std::int64_t> expected, std::int64_t current_version) noexcept;

/* Human wording used in ES001 messages: "any version", "no stream", ... */
std::string describe_expected_version(std::optional<std::int64_t> expected);

}  // namespace eventstore

#endif
