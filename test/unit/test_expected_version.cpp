/*
 * test_expected_version.cpp — units for src/core/expected_version: the
 * optimistic-concurrency rule every append checks (DESIGN.md section 4).
 *
 * The matching rule is tested as a table: each expectation against a stream
 * that does not exist (version 0), a fresh stream (1) and an older one (5).
 */
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include "core/expected_version.h"

namespace eventstore {
namespace {

struct ExpectationCase {
    const char *name;
    std::optional<std::int64_t> expected;
    /* Does it match a stream currently at version 0 (absent), 1, 5? */
    bool matches_absent;
    bool matches_version_1;
    bool matches_version_5;
};

std::ostream &operator<<(std::ostream &out, const ExpectationCase &c) { return out << c.name; }

const ExpectationCase kExpectationCases[] = {
    {"null_means_any", std::nullopt, true, true, true},
    {"zero_means_no_stream", kExpectNoStream, true, false, false},
    {"minus_one_means_existing_stream", kExpectExistingStream, false, true, true},
    {"exactly_1", 1, false, true, false},
    {"exactly_5", 5, false, false, true},
    {"exactly_4_is_behind_5", 4, false, false, false},
    {"exactly_6_is_ahead_of_5", 6, false, false, false},
};

class ExpectedVersionMatch : public testing::TestWithParam<ExpectationCase> {};

TEST_P(ExpectedVersionMatch, AgainstCurrentVersions0And1And5)
{
    const ExpectationCase &c = GetParam();
    EXPECT_EQ(expected_version_matches(c.expected, 0), c.matches_absent);
    EXPECT_EQ(expected_version_matches(c.expected, 1), c.matches_version_1);
    EXPECT_EQ(expected_version_matches(c.expected, 5), c.matches_version_5);
}

INSTANTIATE_TEST_SUITE_P(ExpectedVersion, ExpectedVersionMatch, testing::ValuesIn(kExpectationCases),
                         [](const testing::TestParamInfo<ExpectationCase> &info) { return info.param.name; });

/* -1 is the lowest meaningful value; everything below is rejected as input
 * before the stream is even looked at. */
TEST(ExpectedVersion, ValidityBoundaryIsMinusOne)
{
    EXPECT_TRUE(expected_version_is_valid(kExpectExistingStream));
    EXPECT_TRUE(expected_version_is_valid(kExpectNoStream));
    EXPECT_TRUE(expected_version_is_valid(5));
    EXPECT_TRUE(expected_version_is_valid(std::numeric_limits<std::int64_t>::max()));
    EXPECT_FALSE(expected_version_is_valid(-2));
    EXPECT_FALSE(expected_version_is_valid(std::numeric_limits<std::int64_t>::min()));
}

/* These words end up in ES001 messages that clients read; pin them. */
TEST(ExpectedVersion, DescriptionsForErrorMessages)
{
    EXPECT_EQ(describe_expected_version(std::nullopt), "any version");
    EXPECT_EQ(describe_expected_version(kExpectNoStream), "no stream (0)");
    EXPECT_EQ(describe_expected_version(kExpectExistingStream), "an existing stream (-1)");
    EXPECT_EQ(describe_expected_version(5), "version 5");
    EXPECT_EQ(describe_expected_version(std::numeric_limits<std::int64_t>::max()), "version 9223372036854775807");
}

}  // namespace
}  // namespace eventstore
