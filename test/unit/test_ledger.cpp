/*
 * test_ledger.cpp — the ledger hash that chains the global order.
 *
 * Expected values come from an independent Python computation:
 *   import hashlib, struct
 *   prev = bytes(32); ev1 = bytes.fromhex("f01af295...2362")   # docs test vector 1
 *   l1 = hashlib.sha256(prev + ev1 + struct.pack(">q", 1)).digest()
 *   l2 = hashlib.sha256(l1 + bytes.fromhex("e5591a54...f120") + struct.pack(">q", 2)).digest()
 */
#include <gtest/gtest.h>

#include <string>

#include "core/ledger.h"

namespace eventstore {
namespace {

Digest from_hex(const std::string &hex)
{
    Digest digest{};
    for (std::size_t i = 0; i < digest.size(); ++i)
        digest[i] = static_cast<std::uint8_t>(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
    return digest;
}

const Digest kEvent1 = from_hex("f01af2952ca8f99d14874deeb5d4218434481b0c85d394f48e1706a143602362");
const Digest kEvent2 = from_hex("e5591a546e792aa82be6a6c5c24fd1f1e9fb306bc3224c39c784b6baf7bbf120");

TEST(Ledger, ChainsTwoPositionsLikeTheReference)
{
    const Digest first = ledger_hash(Digest{}, kEvent1, 1);
    EXPECT_EQ(to_hex(first), "b4a7c67e90b9d9e14a49233a4580aa375b568dcfa02f7f874e061523bdf0788e");
    const Digest second = ledger_hash(first, kEvent2, 2);
    EXPECT_EQ(to_hex(second), "2e6a4caa6b016275f82c1c3733fd7bb05a3a120b42e0d62131028ffca6c89308");
}

TEST(Ledger, PositionOrderAndPreviousHashAllMatter)
{
    const Digest base = ledger_hash(Digest{}, kEvent1, 1);
    EXPECT_NE(base, ledger_hash(Digest{}, kEvent1, 2));
    EXPECT_NE(base, ledger_hash(Digest{}, kEvent2, 1));
    EXPECT_NE(base, ledger_hash(kEvent2, kEvent1, 1));
    /* Swapping two events changes the head. */
    const Digest in_order = ledger_hash(ledger_hash(Digest{}, kEvent1, 1), kEvent2, 2);
    const Digest swapped = ledger_hash(ledger_hash(Digest{}, kEvent2, 1), kEvent1, 2);
    EXPECT_NE(in_order, swapped);
}

}  // namespace
}  // namespace eventstore
