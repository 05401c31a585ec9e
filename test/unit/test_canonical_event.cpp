/*
 * test_canonical_event.cpp — units for src/core/canonical_event: the exact
 * bytes the hash chain seals, and event_hash over them.
 *
 * The encoding is a public format (outside verifiers recompute it from the
 * documentation), so the tests pin it byte for byte rather than round-trip
 * it: the layout tables below are written out by hand from the format
 * description, and the expected hashes come from an independent
 * implementation in Python.  To re-derive them:
 *
 *   import hashlib, struct, uuid
 *   def field(b): return struct.pack(">I", len(b)) + b
 *   def i64(v): return field(struct.pack(">q", v))
 *   def canonical(stream, version, event_id, etype, schema, time_us, data, meta):
 *       out = field(b"pg_eventstore.event.v1") + field(stream.encode()) + i64(version)
 *       out += field(uuid.UUID(event_id).bytes) + field(etype.encode()) + i64(schema)
 *       out += i64(time_us) + field(data.encode())
 *       out += struct.pack(">I", 0xFFFFFFFF) if meta is None else field(meta.encode())
 *       return out
 *   h1 = hashlib.sha256(canonical("account-42", 1, "3f2c6a9e-8d4b-4c1a-9e7f-0a1b2c3d4e5f",
 *           "MoneyDeposited", 1, 1768469400123456, '{"amount": 100, "currency": "EUR"}',
 *           '{"correlation_id": "c-1"}') + bytes(32)).digest()
 *   h2 = hashlib.sha256(canonical("account-42", 2, "5a0e1b2c-3d4e-4f50-8a6b-7c8d9e0f1a2b",
 *           "MoneyWithdrawn", 1, 1768473000000000, '{"amount": 30}', None) + h1).digest()
 *   print(h1.hex(), h2.hex())
 *
 * (1768469400123456 is 2026-01-15 09:30:00.123456 UTC and 1768473000000000 is
 * 2026-01-15 10:30:00 UTC, in microseconds since the Unix epoch.)
 */
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/canonical_event.h"
#include "core/sha256.h"

namespace eventstore {
namespace {

/* ---- helpers --------------------------------------------------------------- */

/* Hex text to bytes; '-' and ' ' are ignored so UUIDs can be written as usual. */
std::string bytes_from_hex(std::string_view hex)
{
    auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
    std::string bytes;
    std::optional<int> high;
    for (const char c : hex) {
        if (c == '-' || c == ' ')
            continue;
        if (!high) {
            high = nibble(c);
        } else {
            bytes.push_back(static_cast<char>(*high << 4 | nibble(c)));
            high.reset();
        }
    }
    return bytes;
}

std::string hex_of(std::string_view bytes)
{
    return to_hex(reinterpret_cast<const std::uint8_t *>(bytes.data()), bytes.size());
}

/* A UUID's 16 bytes in RFC 4122 (text) order, which is also PostgreSQL's. */
std::array<std::uint8_t, 16> uuid(std::string_view text)
{
    const std::string bytes = bytes_from_hex(text);
    std::array<std::uint8_t, 16> out{};
    for (std::size_t i = 0; i < out.size(); ++i)
        out[i] = static_cast<std::uint8_t>(bytes.at(i));
    return out;
}

Digest digest_from_hex(std::string_view hex)
{
    const std::string bytes = bytes_from_hex(hex);
    Digest out{};
    for (std::size_t i = 0; i < out.size(); ++i)
        out[i] = static_cast<std::uint8_t>(bytes.at(i));
    return out;
}

std::string digest_bytes(const Digest &digest)
{
    return std::string(reinterpret_cast<const char *>(digest.data()), digest.size());
}

/* The documented test vector #1: the first deposit on account-42. */
EventFields deposit_event()
{
    EventFields event;
    event.stream_id = "account-42";
    event.stream_version = 1;
    event.event_id = uuid("3f2c6a9e-8d4b-4c1a-9e7f-0a1b2c3d4e5f");
    event.event_type = "MoneyDeposited";
    event.schema_version = 1;
    event.event_time_unix_micros = 1768469400123456;  // 2026-01-15 09:30:00.123456 UTC
    event.data_json = R"({"amount": 100, "currency": "EUR"})";
    event.has_metadata = true;
    event.metadata_json = R"({"correlation_id": "c-1"})";
    return event;
}

/* Vector #2: version 2 of the same stream, without metadata, chained on #1. */
EventFields withdrawal_event()
{
    EventFields event;
    event.stream_id = "account-42";
    event.stream_version = 2;
    event.event_id = uuid("5a0e1b2c-3d4e-4f50-8a6b-7c8d9e0f1a2b");
    event.event_type = "MoneyWithdrawn";
    event.schema_version = 1;
    event.event_time_unix_micros = 1768473000000000;  // 2026-01-15 10:30:00 UTC
    event.data_json = R"({"amount": 30})";
    event.has_metadata = false;
    return event;
}

constexpr const char *kDepositHash = "f01af2952ca8f99d14874deeb5d4218434481b0c85d394f48e1706a143602362";
constexpr const char *kWithdrawalHash = "e5591a546e792aa82be6a6c5c24fd1f1e9fb306bc3224c39c784b6baf7bbf120";

/* Field positions in a v1 encoding. */
enum Field { kTag, kStreamId, kStreamVersion, kEventId, kEventType, kSchemaVersion, kEventTime, kData, kMetadata };
constexpr std::size_t kFieldCount = 9;

/* Splits an encoding into its length-prefixed fields (nullopt for the absent
 * marker).  Used by the focused tests to look at one field; the layout tests
 * below do not rely on it and spell out every byte instead. */
std::vector<std::optional<std::string>> split_fields(std::string_view encoding)
{
    std::vector<std::optional<std::string>> fields;
    while (!encoding.empty()) {
        if (encoding.size() < 4) {
            ADD_FAILURE() << "truncated length prefix";
            break;
        }
        std::uint32_t length = 0;
        for (int i = 0; i < 4; ++i)
            length = length << 8 | static_cast<std::uint8_t>(encoding[i]);
        encoding.remove_prefix(4);
        if (length == kAbsentFieldLength) {
            fields.emplace_back(std::nullopt);
            continue;
        }
        if (encoding.size() < length) {
            ADD_FAILURE() << "field longer than the rest of the encoding";
            break;
        }
        fields.emplace_back(std::string(encoding.substr(0, length)));
        encoding.remove_prefix(length);
    }
    return fields;
}

/* ---- the documented vectors, byte for byte ---------------------------------- */

/* One field as it must appear: its 4-byte big-endian length prefix written out
 * in hex by hand, then its content bytes. */
struct Piece {
    const char *what;
    const char *length_prefix_hex;
    std::string content;
};

void expect_layout(const std::string &encoding, const std::vector<Piece> &pieces)
{
    std::size_t at = 0;
    for (const Piece &piece : pieces) {
        SCOPED_TRACE(piece.what);
        const std::string expected = bytes_from_hex(piece.length_prefix_hex) + piece.content;
        ASSERT_LE(at + expected.size(), encoding.size()) << "encoding ends early";
        EXPECT_EQ(hex_of(encoding.substr(at, expected.size())), hex_of(expected));
        at += expected.size();
    }
    EXPECT_EQ(at, encoding.size()) << "bytes after the last field";
}

struct DocumentedVector {
    const char *name;
    EventFields event;
    const char *previous_hash_hex;
    std::vector<Piece> layout;
    const char *hash_hex;
};

std::ostream &operator<<(std::ostream &out, const DocumentedVector &vector) { return out << vector.name; }

const std::string kGenesisHex(64, '0');

const DocumentedVector kDocumentedVectors[] = {
    {"deposit_v1",
     deposit_event(),
     kGenesisHex.c_str(),
     {
         {"format tag", "00000016", "pg_eventstore.event.v1"},
         {"stream_id", "0000000a", "account-42"},
         {"stream_version", "00000008", bytes_from_hex("00000000 00000001")},
         {"event_id", "00000010", bytes_from_hex("3f2c6a9e8d4b4c1a9e7f0a1b2c3d4e5f")},
         {"event_type", "0000000e", "MoneyDeposited"},
         {"schema_version", "00000008", bytes_from_hex("00000000 00000001")},
         {"event_time", "00000008", bytes_from_hex("00064869 de63f840")},
         {"data", "00000022", R"({"amount": 100, "currency": "EUR"})"},
         {"metadata", "00000019", R"({"correlation_id": "c-1"})"},
     },
     kDepositHash},
    {"withdrawal_v2",
     withdrawal_event(),
     kDepositHash,
     {
         {"format tag", "00000016", "pg_eventstore.event.v1"},
         {"stream_id", "0000000a", "account-42"},
         {"stream_version", "00000008", bytes_from_hex("00000000 00000002")},
         {"event_id", "00000010", bytes_from_hex("5a0e1b2c3d4e4f508a6b7c8d9e0f1a2b")},
         {"event_type", "0000000e", "MoneyWithdrawn"},
         {"schema_version", "00000008", bytes_from_hex("00000000 00000001")},
         {"event_time", "00000008", bytes_from_hex("0006486a b4f5ba00")},
         {"data", "0000000e", R"({"amount": 30})"},
         {"metadata (absent: marker, no bytes)", "ffffffff", ""},
     },
     kWithdrawalHash},
};

class DocumentedVectorTest : public testing::TestWithParam<DocumentedVector> {};

TEST_P(DocumentedVectorTest, EncodingHasTheDocumentedLayout)
{
    expect_layout(canonical_encoding(GetParam().event), GetParam().layout);
}

TEST_P(DocumentedVectorTest, HashMatchesTheIndependentImplementation)
{
    const Digest previous = digest_from_hex(GetParam().previous_hash_hex);
    EXPECT_EQ(to_hex(event_hash(GetParam().event, previous)), GetParam().hash_hex);
}

/* event_hash streams the fields into the hasher without building the bytes;
 * it must agree with hashing the built bytes followed by the previous hash. */
TEST_P(DocumentedVectorTest, HashIsSha256OfEncodingThenPreviousHash)
{
    const Digest previous = digest_from_hex(GetParam().previous_hash_hex);
    EXPECT_EQ(event_hash(GetParam().event, previous),
              sha256(canonical_encoding(GetParam().event) + digest_bytes(previous)));
}

INSTANTIATE_TEST_SUITE_P(CanonicalEvent, DocumentedVectorTest, testing::ValuesIn(kDocumentedVectors),
                         [](const testing::TestParamInfo<DocumentedVector> &info) { return info.param.name; });

/* The chain as the append path builds it: genesis, then each hash feeds the next. */
TEST(CanonicalEvent, DocumentedVectorsChainFromGenesis)
{
    const Digest first = event_hash(deposit_event(), kGenesisHash);
    const Digest second = event_hash(withdrawal_event(), first);
    EXPECT_EQ(to_hex(first), kDepositHash);
    EXPECT_EQ(to_hex(second), kWithdrawalHash);
}

TEST(CanonicalEvent, GenesisHashIsThirtyTwoZeroBytes) { EXPECT_EQ(to_hex(kGenesisHash), kGenesisHex); }

/* ---- absent versus empty metadata -------------------------------------------- */

TEST(CanonicalEvent, AbsentMetadataIsMarkerWithoutBytesAndDiffersFromEmpty)
{
    EventFields absent = deposit_event();
    absent.has_metadata = false;
    EventFields empty = deposit_event();
    empty.metadata_json = "";

    const std::string absent_bytes = canonical_encoding(absent);
    const std::string empty_bytes = canonical_encoding(empty);
    const auto absent_fields = split_fields(absent_bytes);
    const auto empty_fields = split_fields(empty_bytes);
    ASSERT_EQ(absent_fields.size(), kFieldCount);
    ASSERT_EQ(empty_fields.size(), kFieldCount);
    EXPECT_EQ(absent_fields[kMetadata], std::nullopt);
    EXPECT_EQ(empty_fields[kMetadata], std::string());

    /* Same size (a 4-byte prefix, no content), different last four bytes. */
    ASSERT_EQ(absent_bytes.size(), empty_bytes.size());
    EXPECT_EQ(hex_of(absent_bytes.substr(absent_bytes.size() - 4)), "ffffffff");
    EXPECT_EQ(hex_of(empty_bytes.substr(empty_bytes.size() - 4)), "00000000");
    EXPECT_NE(event_hash(absent, kGenesisHash), event_hash(empty, kGenesisHash));
}

/* metadata_json is only meaningful with has_metadata: a stale view left in it
 * must not leak into the encoding of an event without metadata. */
TEST(CanonicalEvent, MetadataTextIsIgnoredWhenAbsent)
{
    EventFields stale = withdrawal_event();
    stale.metadata_json = R"({"left": "over"})";
    EXPECT_EQ(canonical_encoding(stale), canonical_encoding(withdrawal_event()));
}

/* ---- 64-bit integers ---------------------------------------------------------- */

struct Int64Case {
    const char *name;
    std::int64_t value;
    const char *big_endian_hex;
};

std::ostream &operator<<(std::ostream &out, const Int64Case &c) { return out << c.name; }

/* Event times before 1970 are negative and must encode as two's complement. */
const Int64Case kInt64Cases[] = {
    {"zero", 0, "0000000000000000"},
    {"one_microsecond_before_epoch", -1, "ffffffffffffffff"},
    {"year_1900", -2208988800000000, "fff826efb7436000"},
    {"min", std::numeric_limits<std::int64_t>::min(), "8000000000000000"},
    {"max", std::numeric_limits<std::int64_t>::max(), "7fffffffffffffff"},
    {"documented_event_time", 1768469400123456, "00064869de63f840"},
};

class Int64FieldTest : public testing::TestWithParam<Int64Case> {};

/* Version, schema version and event time share one rule: length 8, then the
 * value as 8 big-endian two's complement bytes. */
TEST_P(Int64FieldTest, EncodesAsEightBigEndianBytes)
{
    EventFields event = deposit_event();
    event.stream_version = GetParam().value;
    event.schema_version = GetParam().value;
    event.event_time_unix_micros = GetParam().value;
    const auto fields = split_fields(canonical_encoding(event));
    ASSERT_EQ(fields.size(), kFieldCount);
    for (const Field field : {kStreamVersion, kSchemaVersion, kEventTime}) {
        ASSERT_TRUE(fields[field].has_value()) << "field " << field;
        EXPECT_EQ(hex_of(*fields[field]), GetParam().big_endian_hex) << "field " << field;
    }
}

INSTANTIATE_TEST_SUITE_P(CanonicalEvent, Int64FieldTest, testing::ValuesIn(kInt64Cases),
                         [](const testing::TestParamInfo<Int64Case> &info) { return info.param.name; });

/* ---- no two events share an encoding ------------------------------------------ */

using Mutation = std::function<void(EventFields &)>;

struct BoundaryCase {
    const char *name;
    Mutation first;
    Mutation second;
};

std::ostream &operator<<(std::ostream &out, const BoundaryCase &c) { return out << c.name; }

/* Pairs whose text fields concatenate to the same characters: only the length
 * prefixes tell them apart. */
const BoundaryCase kBoundaryCases[] = {
    {"stream_and_type",
     [](EventFields &e) { e.stream_id = "ab"; e.event_type = "c"; },
     [](EventFields &e) { e.stream_id = "a"; e.event_type = "bc"; }},
    {"data_and_metadata",
     [](EventFields &e) { e.data_json = "{}{"; e.metadata_json = "}"; },
     [](EventFields &e) { e.data_json = "{}"; e.metadata_json = "{}"; }},
    {"whole_metadata_moved_into_data",
     [](EventFields &e) { e.data_json = "{}"; e.metadata_json = "{}"; },
     [](EventFields &e) { e.data_json = "{}{}"; e.metadata_json = ""; }},
};

class FieldBoundaryTest : public testing::TestWithParam<BoundaryCase> {};

TEST_P(FieldBoundaryTest, DifferentSplitsGiveDifferentEncodingsAndHashes)
{
    EventFields first = deposit_event();
    EventFields second = deposit_event();
    GetParam().first(first);
    GetParam().second(second);
    EXPECT_NE(canonical_encoding(first), canonical_encoding(second));
    EXPECT_NE(event_hash(first, kGenesisHash), event_hash(second, kGenesisHash));
}

INSTANTIATE_TEST_SUITE_P(CanonicalEvent, FieldBoundaryTest, testing::ValuesIn(kBoundaryCases),
                         [](const testing::TestParamInfo<BoundaryCase> &info) { return info.param.name; });

/* ---- every input is sealed ------------------------------------------------------ */

struct HashInputChange {
    const char *name;
    std::function<void(EventFields &, Digest &)> apply;
};

std::ostream &operator<<(std::ostream &out, const HashInputChange &c) { return out << c.name; }

/* The smallest change of each input the hash covers (one character, one bit,
 * one unit); tampering with any of them must show in the hash. */
const HashInputChange kHashInputChanges[] = {
    {"stream_id", [](EventFields &e, Digest &) { e.stream_id = "account-43"; }},
    {"stream_version", [](EventFields &e, Digest &) { e.stream_version += 1; }},
    {"event_id", [](EventFields &e, Digest &) { e.event_id[15] ^= 0x01; }},
    {"event_type", [](EventFields &e, Digest &) { e.event_type = "MoneyDepositeD"; }},
    {"schema_version", [](EventFields &e, Digest &) { e.schema_version += 1; }},
    {"event_time", [](EventFields &e, Digest &) { e.event_time_unix_micros += 1; }},
    {"data", [](EventFields &e, Digest &) { e.data_json = R"({"amount": 101, "currency": "EUR"})"; }},
    {"metadata", [](EventFields &e, Digest &) { e.metadata_json = R"({"correlation_id": "c-2"})"; }},
    {"metadata_removed", [](EventFields &e, Digest &) { e.has_metadata = false; }},
    {"previous_hash", [](EventFields &, Digest &previous) { previous[31] ^= 0x01; }},
};

class HashInputChangeTest : public testing::TestWithParam<HashInputChange> {};

TEST_P(HashInputChangeTest, ChangesTheHash)
{
    EventFields event = deposit_event();
    Digest previous = kGenesisHash;
    GetParam().apply(event, previous);
    EXPECT_NE(to_hex(event_hash(event, previous)), kDepositHash);
}

INSTANTIATE_TEST_SUITE_P(CanonicalEvent, HashInputChangeTest, testing::ValuesIn(kHashInputChanges),
                         [](const testing::TestParamInfo<HashInputChange> &info) { return info.param.name; });

}  // namespace
}  // namespace eventstore
