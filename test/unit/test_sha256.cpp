/*
 * test_sha256.cpp — units for src/core/sha256: the SHA-256 every event hash
 * and every verification goes through.
 *
 * The expected digests are the published FIPS 180-2 / NIST CAVS example
 * vectors (empty message, "abc", the 448-bit two-block message, one million
 * 'a'), so these tests check OpenSSL's wiring, not our own idea of SHA-256.
 */
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/sha256.h"

namespace eventstore {
namespace {

using namespace std::string_view_literals;

struct KnownVector {
    const char *name;
    std::string message;
    const char *digest_hex;
};

std::ostream &operator<<(std::ostream &out, const KnownVector &vector) { return out << vector.name; }

const KnownVector kKnownVectors[] = {
    {"empty", "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    {"abc", "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
    {"two_blocks", "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    {"million_a", std::string(1000000, 'a'), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
    /* Binary input: a NUL byte is data, not a terminator (hashlib.sha256(b'\0')). */
    {"single_nul", std::string(1, '\0'), "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"},
};

class Sha256KnownVector : public testing::TestWithParam<KnownVector> {};

TEST_P(Sha256KnownVector, OneShotDigestMatches)
{
    EXPECT_EQ(to_hex(sha256(GetParam().message)), GetParam().digest_hex);
}

/* Feeding the message in pieces smaller than, equal to and larger than the
 * 64-byte block (and a prime size, so pieces drift across block boundaries)
 * gives the one-shot digest.  The pointer+length overload is the one the
 * canonical encoder uses, so it is the one exercised here. */
TEST_P(Sha256KnownVector, IncrementalUpdatesEqualOneShot)
{
    const std::string &message = GetParam().message;
    for (const std::size_t piece : {1, 3, 63, 64, 65, 997}) {
        Sha256 hasher;
        for (std::size_t at = 0; at < message.size(); at += piece)
            hasher.update(message.data() + at, std::min(piece, message.size() - at));
        EXPECT_EQ(to_hex(hasher.finish()), GetParam().digest_hex) << "piece size " << piece;
    }
}

INSTANTIATE_TEST_SUITE_P(Nist, Sha256KnownVector, testing::ValuesIn(kKnownVectors),
                         [](const testing::TestParamInfo<KnownVector> &info) { return info.param.name; });

/* Empty updates are legal anywhere (an empty jsonb text, an empty field) and
 * must not disturb the state, including a null pointer with length 0. */
TEST(Sha256, EmptyUpdatesAreNoOps)
{
    Sha256 hasher;
    hasher.update(nullptr, 0);
    hasher.update("a"sv);
    hasher.update(""sv);
    hasher.update("bc"sv);
    hasher.update(nullptr, 0);
    EXPECT_EQ(to_hex(hasher.finish()), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, DigestIsThirtyTwoBytes)
{
    EXPECT_EQ(sha256("abc").size(), 32u);
    EXPECT_EQ(to_hex(sha256("abc")).size(), 64u);
}

TEST(ToHex, LowercaseTwoDigitsPerByteWithLeadingZeros)
{
    const std::vector<std::uint8_t> bytes = {0x00, 0x01, 0x0f, 0x10, 0xa0, 0xab, 0xfe, 0xff};
    EXPECT_EQ(to_hex(bytes.data(), bytes.size()), "00010f10a0abfeff");
}

TEST(ToHex, EmptyRangeIsEmptyString) { EXPECT_EQ(to_hex(nullptr, 0), ""); }

TEST(ToHex, DigestOverloadCoversAllBytes)
{
    Digest digest{};
    digest.front() = 0x12;
    digest.back() = 0xef;
    EXPECT_EQ(to_hex(digest), "12" + std::string(60, '0') + "ef");
}

}  // namespace
}  // namespace eventstore
