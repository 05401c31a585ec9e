/*
 * test_flat_json.cpp — the offline verifier's JSON reader
 * (tools/verify/flat_json.h) and the checkpoint lines and proofs it reads
 * (tools/verify/checkpoint_line.h).
 *
 * The reader accepts exactly the flat subset the verifier needs (strings,
 * numbers, null, arrays of strings) and refuses the rest, duplicated keys
 * included; a checkpoint line must have exactly its seven keys in their
 * documented forms.  Signatures are checked end to end by
 * test/e2e/verifier_offline.sh with keys made by an independent
 * implementation.
 */
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "verify/checkpoint_line.h"
#include "verify/errors.h"
#include "verify/flat_json.h"

namespace eventstore::verify {
namespace {

const std::string kRoot = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const std::string kHead = "f01af2952ca8f99d14874deeb5d4218434481b0c85d394f48e1706a143602362";
const std::string kKeyId = "7a388421f7219b3713a0b714c698c8a4615987451542d53750cdce4fc35d142e";
const std::string kSignature(128, 'a');

std::string line(const std::string &key_id = "\"" + kKeyId + "\"",
                 const std::string &signature = "\"" + kSignature + "\"")
{
    return "{\"checkpoint\":3,\"tree_size\":1200,\"root_hash\":\"" + kRoot + "\",\"ledger_head\":\"" + kHead +
           "\",\"created_at\":\"2026-11-28T13:20:00.123456Z\",\"key_id\":" + key_id + ",\"signature\":" + signature +
           "}";
}

/* The FormatError message of parsing `text`, or "" if it parsed. */
std::string json_error(const std::string &text)
{
    try {
        parse_flat_object(text);
        return "";
    } catch (const FormatError &e) {
        return e.what();
    }
}

std::string checkpoint_error(const std::string &text)
{
    try {
        parse_checkpoint_line(text);
        return "";
    } catch (const FormatError &e) {
        return e.what();
    }
}

TEST(FlatJson, ReadsAFlatObjectInOrder)
{
    const FlatObject o = parse_flat_object(
        " {\"type\" : \"inclusion\",\n\t\"n\":12, \"none\":null, \"path\":[ \"a\" , \"b\" ], \"empty\":[], \"x\":-1.5e+3 } \n");
    ASSERT_EQ(o.members().size(), 6u);
    EXPECT_EQ(o.members()[0].first, "type");
    EXPECT_EQ(o.members()[5].first, "x");
    EXPECT_EQ(o.find("type")->kind, JsonValue::Kind::string);
    EXPECT_EQ(o.find("type")->text, "inclusion");
    EXPECT_EQ(o.find("n")->kind, JsonValue::Kind::number);
    EXPECT_EQ(o.find("n")->text, "12");
    EXPECT_EQ(o.find("none")->kind, JsonValue::Kind::null);
    EXPECT_EQ(o.find("path")->kind, JsonValue::Kind::string_array);
    EXPECT_EQ(o.find("path")->items, (std::vector<std::string>{"a", "b"}));
    EXPECT_TRUE(o.find("empty")->items.empty());
    EXPECT_EQ(o.find("x")->text, "-1.5e+3");
    EXPECT_EQ(o.find("missing"), nullptr);
    EXPECT_TRUE(parse_flat_object("{}").members().empty());
}

TEST(FlatJson, DecodesStringEscapes)
{
    const FlatObject o = parse_flat_object(
        R"({"s":"q\" b\\ s\/ \b\f\n\r\t \u00e9\u20AC \ud83d\ude00 raw é"})");
    EXPECT_EQ(o.find("s")->text, "q\" b\\ s/ \b\f\n\r\t \xc3\xa9\xe2\x82\xac \xf0\x9f\x98\x80 raw \xc3\xa9");
}

TEST(FlatJson, RefusesWhatIsNotFlat)
{
    EXPECT_NE(json_error(R"({"a":{"b":1}})"), "");
    EXPECT_NE(json_error(R"({"a":[1,2]})"), "");
    EXPECT_NE(json_error(R"({"a":[["x"]]})"), "");
    EXPECT_NE(json_error(R"({"a":true})"), "");
    EXPECT_NE(json_error(R"(["a"])"), "");
    EXPECT_NE(json_error(R"("a")"), "");
}

TEST(FlatJson, RefusesMalformedText)
{
    EXPECT_EQ(json_error(R"({"a":1,"a":2})"), "JSON: duplicated key \"a\" at byte 7");
    EXPECT_EQ(json_error(R"({"a":1} x)"), "JSON: text after the object at byte 8");
    EXPECT_EQ(json_error(R"({"a":1)"), "JSON: expected '}' at byte 6");
    EXPECT_EQ(json_error(""), "JSON: expected '{' at byte 0");
    for (const char *bad : {R"({"a":1,})", R"({,})", R"({"a" 1})", R"({a:1})", R"({"a":"x)", R"({"a":nul})",
                            R"({"a":"\x"})", R"({"a":"\u12"})", R"({"a":"\ud83d"})", R"({"a":"\ude00"})",
                            R"({"a":["x",]})", R"({"a":"x"}})"})
        EXPECT_NE(json_error(bad), "") << bad;
    EXPECT_NE(json_error(std::string("{\"a\":\"tab\there\"}")), ""); /* a raw control character */
}

TEST(FlatJson, ValidatesNumbers)
{
    for (const char *good : {"0", "-0", "12", "-12", "1.5", "1e5", "1E+5", "1.5e-5"})
        EXPECT_EQ(json_error(std::string("{\"n\":") + good + "}"), "") << good;
    for (const char *bad : {"01", "-", "1.", ".5", "1e", "+1", "1.e5", "0x10", "- 1"})
        EXPECT_NE(json_error(std::string("{\"n\":") + bad + "}"), "") << bad;
}

TEST(FlatJson, UnsignedIntegers)
{
    auto value = [](const std::string &number, std::uint64_t &out) {
        return as_uint64(parse_flat_object("{\"n\":" + number + "}").members()[0].second, out);
    };
    std::uint64_t n = 7;
    EXPECT_TRUE(value("0", n));
    EXPECT_EQ(n, 0u);
    EXPECT_TRUE(value("9223372036854775807", n));
    EXPECT_EQ(n, 9223372036854775807u);
    for (const char *bad : {"9223372036854775808", "18446744073709551616", "-1", "-0", "1.0", "1e3"})
        EXPECT_FALSE(value(bad, n)) << bad;
    EXPECT_FALSE(as_uint64(parse_flat_object(R"({"n":"1"})").members()[0].second, n)); /* a string is not a number */
}

TEST(CheckpointLine, ParsesASignedLine)
{
    const Checkpoint cp = parse_checkpoint_line(line());
    EXPECT_EQ(cp.number, 3u);
    EXPECT_EQ(cp.tree_size, 1200u);
    EXPECT_EQ(to_hex(cp.root_hash), kRoot);
    EXPECT_EQ(to_hex(cp.ledger_head), kHead);
    EXPECT_EQ(cp.created_at, "2026-11-28T13:20:00.123456Z");
    EXPECT_TRUE(cp.is_signed);
    EXPECT_EQ(to_hex(cp.key_id), kKeyId);
    EXPECT_EQ(to_hex(cp.signature.data(), cp.signature.size()), kSignature);
    EXPECT_EQ(cp.line, line());
    EXPECT_EQ(signed_message(cp), "pg_eventstore.checkpoint.v1\n3\n1200\n" + kRoot + "\n" + kHead +
                                      "\n2026-11-28T13:20:00.123456Z\n" + kKeyId);
}

TEST(CheckpointLine, ParsesAnUnsignedLine)
{
    const Checkpoint cp = parse_checkpoint_line(line("null", "null"));
    EXPECT_FALSE(cp.is_signed);
    EXPECT_EQ(cp.number, 3u);
}

TEST(CheckpointLine, LayoutIsFreeContentIsNot)
{
    /* Whitespace and key order do not matter to the signed content. */
    const std::string reordered = "{ \"signature\": \"" + kSignature + "\", \"key_id\": \"" + kKeyId +
                                  "\", \"tree_size\": 1200, \"checkpoint\": 3, \"root_hash\": \"" + kRoot +
                                  "\", \"ledger_head\": \"" + kHead +
                                  "\", \"created_at\": \"2026-11-28T13:20:00.123456Z\" }";
    EXPECT_EQ(signed_message(parse_checkpoint_line(reordered)), signed_message(parse_checkpoint_line(line())));

    auto with = [](const std::string &from, const std::string &to) {
        std::string text = line();
        const auto at = text.find(from);
        EXPECT_NE(at, std::string::npos) << from;
        return text.replace(at, from.size(), to);
    };
    EXPECT_EQ(checkpoint_error(line("null")), "\"key_id\" and \"signature\" must be both null or both set");
    EXPECT_EQ(checkpoint_error(line("\"" + kKeyId + "\"", "null")),
              "\"key_id\" and \"signature\" must be both null or both set");
    EXPECT_EQ(checkpoint_error(with("\"checkpoint\":3", "\"checkpoint\":-3")),
              "\"checkpoint\" is not a non-negative integer");
    EXPECT_EQ(checkpoint_error(with("\"tree_size\":1200", "\"tree_size\":\"1200\"")),
              "\"tree_size\" is not a non-negative integer");
    EXPECT_EQ(checkpoint_error(with(kRoot, kRoot.substr(2))), "\"root_hash\" is not 64 lowercase hex digits");
    EXPECT_EQ(checkpoint_error(with("\"ledger_head\":\"f01a", "\"ledger_head\":\"F01a")),
              "\"ledger_head\" is not 64 lowercase hex digits");
    EXPECT_EQ(checkpoint_error(with(kSignature, kSignature + "00")), "\"signature\" is not 128 lowercase hex digits");
    EXPECT_EQ(checkpoint_error(with("13:20:00", "13:20\\n00")),
              "\"created_at\" holds a character other than printable ASCII");
    EXPECT_EQ(checkpoint_error(with("\"created_at\":\"2026-11-28T13:20:00.123456Z\"", "\"created_at\":null")),
              "\"created_at\" is not a non-empty string");
    EXPECT_EQ(checkpoint_error(with("{\"checkpoint\":3,", "{\"checkpoint\":3,\"extra\":1,")),
              "unknown key \"extra\"");
    EXPECT_EQ(checkpoint_error(with("\"checkpoint\":3,", "")), "no \"checkpoint\"");
    EXPECT_EQ(checkpoint_error(with("\"tree_size\":1200,", "\"tree_size\":1200,\"tree_size\":1200,")).substr(0, 25),
              "JSON: duplicated key \"tre");
}

}  // namespace
}  // namespace eventstore::verify
