/*
 * ledger.h — the ledger hash that chains the whole sequenced log.
 *
 * Each event's per-stream hash seals it inside its stream; the ledger hash
 * seals the global order: ledger(p) = SHA-256(ledger(p-1) || event_hash ||
 * p as 8-byte big-endian), with ledger(0) = 32 zero bytes.  Removing,
 * inserting or reordering any sequenced event changes every later ledger
 * hash, which verify_all() reports at the first bad position.
 */
#ifndef EVENTSTORE_CORE_LEDGER_H
#define EVENTSTORE_CORE_LEDGER_H

#include <cstdint>

#include "sha256.h"

namespace eventstore {

Digest ledger_hash(const Digest &previous_ledger_hash, const Digest &event_hash, std::int64_t global_position);

}  // namespace eventstore

#endif
