/*
 * expected_version.cpp — see expected_version.h for the rules.
 */
#include "expected_version.h"

#include "assert_no_postgres.h"

namespace eventstore {

bool expected_version_is_valid(std::int64_t expected) noexcept { return expected >= kExpectExistingStream; }

bool expected_version_matches(std::optional<std::int64_t> expected, std::int64_t current_version) noexcept
{
    if (!expected)
        return true;
    if (*expected == kExpectNoStream)
        return current_version == 0;
    if (*expected == kExpectExistingStream)
        return current_version > 0;
    return *expected == current_version;
}

std::string describe_expected_version(std::optional<std::int64_t> expected)
{
    if (!expected)
        return "any version";
    if (*expected == kExpectNoStream)
        return "no stream (0)";
    if (*expected == kExpectExistingStream)
        return "an existing stream (-1)";
    return "version " + std::to_string(*expected);
}

}  // namespace eventstore
