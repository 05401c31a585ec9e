/*
 * test_copy_text_reader.cpp — the offline verifier's reader of PostgreSQL's
 * COPY text format (tools/verify/copy_text_reader.h) and the parsers of the
 * exported log's column values (tools/verify/scalars.h).
 *
 * The escapes follow PostgreSQL's COPY FROM (copyfromparse.c), not only
 * what COPY TO writes: a log that went through other tools must still
 * decode the way the database would read it back.  The reader is also fed
 * in tiny chunks through a tiny buffer, so rows straddle every possible
 * read boundary and the buffer has to grow.
 */
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/sha256.h"
#include "verify/copy_text_reader.h"
#include "verify/errors.h"
#include "verify/scalars.h"

namespace eventstore::verify {
namespace {

/* A line's fields as strings, NULL as "<NULL>". */
std::vector<std::string> split(std::string_view line)
{
    std::string scratch;
    std::vector<CopyField> fields;
    split_copy_line(line, scratch, fields);
    std::vector<std::string> out;
    for (const CopyField &f : fields)
        out.push_back(f.null ? "<NULL>" : std::string(f.text));
    return out;
}

using Rows = std::vector<std::vector<std::string>>;

/* Every row of `input`, read through a reader of the given buffer size fed `chunk` bytes at a time. */
Rows read_all(const std::string &input, std::size_t chunk = 1 << 20, std::size_t buffer = 1 << 16)
{
    StringSource source(input, chunk);
    CopyTextReader reader(source, buffer);
    std::vector<CopyField> fields;
    Rows rows;
    while (reader.next_row(fields)) {
        rows.emplace_back();
        for (const CopyField &f : fields)
            rows.back().push_back(f.null ? "<NULL>" : std::string(f.text));
    }
    EXPECT_EQ(reader.bytes_read(), input.size());
    return rows;
}

TEST(CopyTextReader, SplitsOnTabs)
{
    EXPECT_EQ(split("1\taccount-1\t{\"a\": 1}"), (std::vector<std::string>{"1", "account-1", "{\"a\": 1}"}));
    EXPECT_EQ(split(""), (std::vector<std::string>{""}));
    EXPECT_EQ(split("a\t"), (std::vector<std::string>{"a", ""}));
    EXPECT_EQ(split("\t\t"), (std::vector<std::string>{"", "", ""}));
}

TEST(CopyTextReader, BackslashNIsNullOnlyAsTheWholeRawField)
{
    EXPECT_EQ(split("\\N\tx\t\\N"), (std::vector<std::string>{"<NULL>", "x", "<NULL>"}));
    EXPECT_EQ(split("\\\\N"), (std::vector<std::string>{"\\N"}));  /* escaped backslash, then N: text */
    EXPECT_EQ(split("a\\N"), (std::vector<std::string>{"aN"}));    /* \N inside a field is just N */
    EXPECT_EQ(split("\\Nx"), (std::vector<std::string>{"Nx"}));
    EXPECT_EQ(split(""), (std::vector<std::string>{""}));          /* empty text is not NULL */
}

TEST(CopyTextReader, DecodesTheNamedEscapes)
{
    EXPECT_EQ(split("a\\tb\\nc\\rd\\\\e\\bf\\fg\\vh"),
              (std::vector<std::string>{"a\tb\nc\rd\\e\bf\fg\vh"}));
    /* What COPY TO writes for JSON text: the JSON's own backslashes doubled. */
    EXPECT_EQ(split("{\"note\": \"tab\\\\there \\\\\"q\\\\\"\"}"),
              (std::vector<std::string>{"{\"note\": \"tab\\there \\\"q\\\"\"}"}));
}

TEST(CopyTextReader, DecodesOctalAndHexEscapes)
{
    EXPECT_EQ(split("\\101\\1011\\7"), (std::vector<std::string>{"AA1\a"}));
    EXPECT_EQ(split("\\0x"), (std::vector<std::string>{std::string("\0x", 2)}));
    EXPECT_EQ(split("\\777"), (std::vector<std::string>{"\xff"})); /* 0777 & 0xff */
    EXPECT_EQ(split("\\x41\\x4\\x4g\\xe9"), (std::vector<std::string>{"A\x04\x04g\xe9"}));
    EXPECT_EQ(split("\\xg\\X41"), (std::vector<std::string>{"xgX41"})); /* no digit: x itself; \X is X */
}

TEST(CopyTextReader, AnyOtherEscapedCharacterIsItself)
{
    EXPECT_EQ(split("\\a\\.\\\"\\N"), (std::vector<std::string>{"a.\"N"}));
    /* A backslash before a raw TAB makes it data, not a separator. */
    EXPECT_EQ(split("a\\\tb\tc"), (std::vector<std::string>{"a\tb", "c"}));
    EXPECT_EQ(split("a\\\\\tb"), (std::vector<std::string>{"a\\", "b"})); /* \\ then a real TAB */
}

TEST(CopyTextReader, DecodedFieldsStayValidTogether)
{
    /* Several decoded fields in one row share the scratch buffer. */
    std::string scratch = "x"; /* a used scratch is reset, not appended to */
    std::vector<CopyField> fields;
    split_copy_line("\\tone\tplain\t\\ntwo\t\\N\t\\\\three", scratch, fields);
    ASSERT_EQ(fields.size(), 5u);
    EXPECT_EQ(fields[0].text, "\tone");
    EXPECT_EQ(fields[1].text, "plain");
    EXPECT_EQ(fields[2].text, "\ntwo");
    EXPECT_TRUE(fields[3].null);
    EXPECT_EQ(fields[4].text, "\\three");
}

TEST(CopyTextReader, ReadsRowsAcrossEveryChunkBoundary)
{
    std::string input;
    Rows expected;
    for (int i = 0; i < 50; ++i) {
        const std::string data(i * 7, static_cast<char>('a' + i % 26)); /* up to 343 bytes: longer than the buffer */
        input += std::to_string(i) + "\t" + data + "\\t\\\\\t\\N\n";
        expected.push_back({std::to_string(i), data + "\t\\", "<NULL>"});
    }
    for (const std::size_t chunk : {1, 2, 3, 5, 16, 4096})
        EXPECT_EQ(read_all(input, chunk, 16), expected) << "chunk " << chunk;
}

TEST(CopyTextReader, AnEscapedNewlineIsData)
{
    /* \ before a raw newline: the row goes on, as COPY FROM reads it. */
    EXPECT_EQ(read_all("a\\\nb\tc\nd\n"), (Rows{{"a\nb", "c"}, {"d"}}));
    /* \\ before it: an escaped backslash, and the newline ends the row. */
    EXPECT_EQ(read_all("a\\\\\nb\n"), (Rows{{"a\\"}, {"b"}}));
    EXPECT_EQ(read_all("a\\\\\\\nb\n"), (Rows{{"a\\\nb"}}));
    /* Straddling a read boundary. */
    EXPECT_EQ(read_all("ab\\\ncd\nef\n", 1, 16), (Rows{{"ab\ncd"}, {"ef"}}));
}

TEST(CopyTextReader, LineEnds)
{
    EXPECT_EQ(read_all(""), Rows{});
    EXPECT_EQ(read_all("a\tb"), (Rows{{"a", "b"}}));             /* no final newline */
    EXPECT_EQ(read_all("a\r\nb\r\n"), (Rows{{"a"}, {"b"}}));      /* CR LF */
    EXPECT_EQ(read_all("a\\r\n"), (Rows{{"a\r"}}));               /* an escaped CR is data */
    EXPECT_EQ(read_all("a\\\r\n"), (Rows{{"a\r"}}));              /* so is a backslashed raw CR */
    EXPECT_EQ(read_all("\n\n"), (Rows{{""}, {""}}));              /* empty lines are rows */
}

TEST(CopyTextReader, EndOfDataMarker)
{
    EXPECT_EQ(read_all("a\n\\.\n"), (Rows{{"a"}}));
    EXPECT_EQ(read_all("a\n\\."), (Rows{{"a"}}));
    EXPECT_EQ(read_all("a\n\\\\.\n"), (Rows{{"a"}, {"\\."}})); /* an escaped backslash: data */

    /* Nothing may hide behind the marker. */
    StringSource source("a\n\\.\nhidden\n");
    CopyTextReader reader(source);
    std::vector<CopyField> fields;
    ASSERT_TRUE(reader.next_row(fields));
    try {
        reader.next_row(fields);
        FAIL() << "data after the marker was accepted";
    } catch (const FormatError &e) {
        EXPECT_STREQ(e.what(), "line 3: data after the end-of-data marker on line 2");
    }
}

TEST(CopyTextReader, CountsLines)
{
    StringSource source("a\nb\\\nc\nd\n");
    CopyTextReader reader(source);
    std::vector<CopyField> fields;
    std::vector<std::uint64_t> lines;
    while (reader.next_row(fields))
        lines.push_back(reader.line_number());
    /* Line numbers count rows (an escaped newline is inside its row). */
    EXPECT_EQ(lines, (std::vector<std::uint64_t>{1, 2, 3}));
}

TEST(LogColumns, Integers)
{
    std::int64_t v = 0;
    EXPECT_TRUE(parse_int64("0", v));
    EXPECT_EQ(v, 0);
    EXPECT_TRUE(parse_int64("1768469400123456", v));
    EXPECT_EQ(v, 1768469400123456);
    EXPECT_TRUE(parse_int64("-86400123456", v));
    EXPECT_EQ(v, -86400123456);
    EXPECT_TRUE(parse_int64("9223372036854775807", v));
    EXPECT_EQ(v, INT64_MAX);
    EXPECT_TRUE(parse_int64("-9223372036854775808", v));
    EXPECT_EQ(v, INT64_MIN);
    for (const char *bad : {"", "-", "01", "-0", "+1", " 1", "1 ", "1.0", "1e3", "9223372036854775808",
                            "-9223372036854775809", "99999999999999999999", "0x10"})
        EXPECT_FALSE(parse_int64(bad, v)) << bad;
}

TEST(LogColumns, Digests)
{
    Digest d{};
    const std::string hex = "f01af2952ca8f99d14874deeb5d4218434481b0c85d394f48e1706a143602362";
    ASSERT_TRUE(parse_hex(hex, d));
    EXPECT_EQ(to_hex(d), hex);
    EXPECT_FALSE(parse_hex(hex.substr(1), d));
    EXPECT_FALSE(parse_hex(hex + "0", d));
    std::string upper = hex;
    upper[0] = 'F';
    EXPECT_FALSE(parse_hex(upper, d)); /* written lowercase; anything else is not what the database wrote */
    for (const char bad : {'g', ' ', '\0', '\xe9', 'G', ':', '/', '`'}) {
        std::string s = hex;
        s[63] = bad;
        EXPECT_FALSE(parse_hex(s, d)) << static_cast<int>(bad);
    }
}

TEST(LogColumns, Uuids)
{
    std::array<std::uint8_t, 16> id{};
    ASSERT_TRUE(parse_uuid("3f2c6a9e-8d4b-4c1a-9e7f-0a1b2c3d4e5f", id));
    EXPECT_EQ(to_hex(id.data(), id.size()), "3f2c6a9e8d4b4c1a9e7f0a1b2c3d4e5f");
    ASSERT_TRUE(parse_uuid("3F2C6A9E-8D4B-4C1A-9E7F-0A1B2C3D4E5F", id));
    EXPECT_EQ(to_hex(id.data(), id.size()), "3f2c6a9e8d4b4c1a9e7f0a1b2c3d4e5f");
    for (const char *bad : {"3f2c6a9e8d4b4c1a9e7f0a1b2c3d4e5f", "3f2c6a9e-8d4b-4c1a-9e7f-0a1b2c3d4e5",
                            "3f2c6a9e-8d4b-4c1a-9e7f-0a1b2c3d4e5g", "3f2c6a9e+8d4b-4c1a-9e7f-0a1b2c3d4e5f",
                            "{3f2c6a9e-8d4b-4c1a-9e7f-0a1b2c3d4e5f}"})
        EXPECT_FALSE(parse_uuid(bad, id)) << bad;
}

TEST(LogColumns, PrintableText)
{
    EXPECT_EQ(printable("account-42"), "account-42");
    EXPECT_EQ(printable("odd\tstream\nwith\\slash \xc3\xa9\x01\x7f"), "odd\\tstream\\nwith\\\\slash \xc3\xa9\\x01\\x7f");
    EXPECT_EQ(printable("abcdef", 3), "abc...");
}

}  // namespace
}  // namespace eventstore::verify
