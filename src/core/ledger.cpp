/*
 * ledger.cpp — see ledger.h.
 */
#include "ledger.h"

#include "assert_no_postgres.h"

namespace eventstore {

Digest ledger_hash(const Digest &previous_ledger_hash, const Digest &event_hash, std::int64_t global_position)
{
    std::uint8_t position_be[8];
    const auto bits = static_cast<std::uint64_t>(global_position);
    for (int i = 0; i < 8; ++i)
        position_be[i] = static_cast<std::uint8_t>(bits >> (56 - 8 * i));
    Sha256 &hasher = reused_sha256();
    hasher.update(previous_ledger_hash.data(), previous_ledger_hash.size());
    hasher.update(event_hash.data(), event_hash.size());
    hasher.update(position_be, sizeof position_be);
    return hasher.finish();
}

}  // namespace eventstore
