/*
 * checkpoint_line.h — one signed checkpoint as published outside the
 * database (a line of the Kafka topic or of the checkpoint file):
 *
 *   {"checkpoint":3,"tree_size":1200,"root_hash":"<64 hex>","ledger_head":"<64 hex>",
 *    "created_at":"2026-11-28T13:20:00.123456Z","key_id":"<64 hex>","signature":"<128 hex>"}
 *
 * (on one line), or with "key_id":null,"signature":null when unsigned.
 * The signature is Ed25519 over signed_message(): the fields joined by
 * "\n" after the tag pg_eventstore.checkpoint.v1.
 *
 * Parsing is strict about content and lenient about layout: exactly these
 * seven keys, each with the type and form above (hex lowercase, as it is
 * signed), but whitespace and key order are not checked — the signature
 * covers the values, not the line.  Whether two lines are "the same
 * checkpoint" is still decided on their exact bytes (CheckpointSet).
 */
#ifndef EVENTSTORE_VERIFY_CHECKPOINT_LINE_H
#define EVENTSTORE_VERIFY_CHECKPOINT_LINE_H

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/sha256.h"

namespace eventstore::verify {


struct Checkpoint {
    std::uint64_t number = 0;
    std::uint64_t tree_size = 0;
    Digest root_hash{};
    Digest ledger_head{};
    std::string created_at;
    bool is_signed = false;
    Digest key_id{};                         /* when is_signed */
    std::array<std::uint8_t, 64> signature{}; /* when is_signed */
    std::string line;                        /* the line exactly as given */
};

/* Parses a line; throws FormatError saying what is wrong. */
Checkpoint parse_checkpoint_line(std::string_view line);

/* The exact bytes the signature covers (no trailing newline). */
std::string signed_message(const Checkpoint &checkpoint);

}  // namespace eventstore::verify

#endif
