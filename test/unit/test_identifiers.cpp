/*
 * test_identifiers.cpp — units for src/core/identifiers: which stream ids and
 * event types are accepted, why others are rejected, and stream categories.
 *
 * Byte strings are written with explicit escapes and the `sv` literal so that
 * embedded NULs and invalid UTF-8 reach the function exactly as written.
 */
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "core/identifiers.h"

namespace eventstore {
namespace {

using namespace std::string_view_literals;

struct IdentifierCase {
    const char *name;
    std::string text;
    IdentifierProblem problem;
};

std::ostream &operator<<(std::ostream &out, const IdentifierCase &c) { return out << c.name; }

/* "€" is 3 bytes: 85 of them are exactly the 255-byte limit. */
std::string euros(std::size_t count)
{
    std::string out;
    for (std::size_t i = 0; i < count; ++i)
        out += "\xE2\x82\xAC";
    return out;
}

const IdentifierCase kIdentifierCases[] = {
    /* Lengths are in bytes, not characters. */
    {"empty", "", IdentifierProblem::empty},
    {"one_byte", "a", IdentifierProblem::none},
    {"ascii_255_bytes", std::string(255, 'a'), IdentifierProblem::none},
    {"ascii_256_bytes", std::string(256, 'a'), IdentifierProblem::too_long},
    {"multibyte_255_bytes", euros(85), IdentifierProblem::none},
    {"multibyte_258_bytes", euros(86), IdentifierProblem::too_long},
    /* NUL is valid UTF-8 but cannot round-trip through PostgreSQL text. */
    {"nul_inside", std::string("a\0b"sv), IdentifierProblem::contains_nul},
    {"nul_only", std::string("\0"sv), IdentifierProblem::contains_nul},
    /* Invalid UTF-8, one case per rule of the decoder. */
    {"lone_continuation_byte", "a\x80" "b", IdentifierProblem::invalid_utf8},
    {"truncated_at_end", "\xE2\x82", IdentifierProblem::invalid_utf8},
    {"truncated_before_ascii", "\xE2\x82" "a", IdentifierProblem::invalid_utf8},
    {"overlong_nul_c0_80", "\xC0\x80", IdentifierProblem::invalid_utf8},
    {"overlong_slash_e0_80_af", "\xE0\x80\xAF", IdentifierProblem::invalid_utf8},
    {"surrogate_ed_a0_80", "\xED\xA0\x80", IdentifierProblem::invalid_utf8},
    {"above_u10ffff_f4_90_80_80", "\xF4\x90\x80\x80", IdentifierProblem::invalid_utf8},
    {"lead_byte_f8", "\xF8\x88\x80\x80\x80", IdentifierProblem::invalid_utf8},
    {"byte_ff", "\xFF", IdentifierProblem::invalid_utf8},
    /* Valid multi-byte text, including the edges around the forbidden ranges. */
    {"two_byte_u_umlaut", "konto-M\xC3\xBCller", IdentifierProblem::none},
    {"three_byte_euro", "price-\xE2\x82\xAC", IdentifierProblem::none},
    {"four_byte_emoji", "chat-\xF0\x9F\x98\x80", IdentifierProblem::none},
    {"last_before_surrogates_ud7ff", "\xED\x9F\xBF", IdentifierProblem::none},
    {"first_after_surrogates_ue000", "\xEE\x80\x80", IdentifierProblem::none},
    {"max_code_point_u10ffff", "\xF4\x8F\xBF\xBF", IdentifierProblem::none},
};

class IdentifierCheck : public testing::TestWithParam<IdentifierCase> {};

TEST_P(IdentifierCheck, ReportsTheProblem)
{
    EXPECT_EQ(check_identifier(GetParam().text), GetParam().problem);
}

/* is_valid_utf8 is the decoder behind check_identifier.  Every case here
 * that is rejected for another reason (empty, too long, NUL) is still
 * well-formed UTF-8, so the decoder's verdict is exactly "not invalid_utf8". */
TEST_P(IdentifierCheck, Utf8VerdictAgrees)
{
    EXPECT_EQ(is_valid_utf8(GetParam().text), GetParam().problem != IdentifierProblem::invalid_utf8);
}

INSTANTIATE_TEST_SUITE_P(Identifiers, IdentifierCheck, testing::ValuesIn(kIdentifierCases),
                         [](const testing::TestParamInfo<IdentifierCase> &info) { return info.param.name; });

TEST(Identifiers, EmptyTextIsValidUtf8) { EXPECT_TRUE(is_valid_utf8("")); }

/* The texts complete "stream id ... " in error messages; pin them. */
TEST(Identifiers, ProblemDescriptions)
{
    EXPECT_STREQ(describe_identifier_problem(IdentifierProblem::none), "is valid");
    EXPECT_STREQ(describe_identifier_problem(IdentifierProblem::empty), "is empty");
    EXPECT_STREQ(describe_identifier_problem(IdentifierProblem::too_long), "is longer than 255 bytes");
    EXPECT_STREQ(describe_identifier_problem(IdentifierProblem::contains_nul), "contains a NUL byte");
    EXPECT_STREQ(describe_identifier_problem(IdentifierProblem::invalid_utf8), "is not valid UTF-8");
}

struct CategoryCase {
    const char *stream_id;
    const char *category;
};

std::ostream &operator<<(std::ostream &out, const CategoryCase &c) { return out << c.stream_id; }

/* The category is everything before the FIRST dash, or the whole id. */
const CategoryCase kCategoryCases[] = {
    {"account-42", "account"},
    {"loan", "loan"},
    {"a-b-c", "a"},
    {"-x", ""},
    {"trailing-", "trailing"},
    {"konto\xC3\xBC-7", "konto\xC3\xBC"},
};

class StreamCategory : public testing::TestWithParam<CategoryCase> {};

TEST_P(StreamCategory, IsThePartBeforeTheFirstDash)
{
    EXPECT_EQ(stream_category(GetParam().stream_id), GetParam().category);
}

INSTANTIATE_TEST_SUITE_P(Identifiers, StreamCategory, testing::ValuesIn(kCategoryCases));

}  // namespace
}  // namespace eventstore
