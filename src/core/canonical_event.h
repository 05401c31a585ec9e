/*
 * canonical_event.h — the byte encoding of an event that the hash chain seals.
 *
 * The hash of an event is SHA-256(canonical(event) || previous hash), where
 * the previous hash of version 1 is 32 zero bytes.  The encoding is a list of
 * length-prefixed fields so that no two different events can encode to the
 * same bytes.  docs/hash-chain.md specifies it for outside verifiers; any
 * change here is a new format tag, never an edit of v1.
 */
#ifndef EVENTSTORE_CORE_CANONICAL_EVENT_H
#define EVENTSTORE_CORE_CANONICAL_EVENT_H

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "sha256.h"

namespace eventstore {

/* The first field of every v1 encoding. */
constexpr std::string_view kCanonicalFormatTag = "pg_eventstore.event.v1";

/* Length prefix written for an absent (SQL NULL) metadata field. */
constexpr std::uint32_t kAbsentFieldLength = 0xFFFFFFFFu;

/* Non-owning view of the fields the hash covers. */
struct EventFields {
    std::string_view stream_id;
    std::int64_t stream_version = 0;
    std::array<std::uint8_t, 16> event_id{};
    std::string_view event_type;
    std::int64_t schema_version = 1;
    std::int64_t event_time_unix_micros = 0; /* microseconds since 1970-01-01 UTC */
    std::string_view data_json;              /* jsonb text form */
    bool has_metadata = false;
    std::string_view metadata_json;          /* jsonb text form when has_metadata */
};

/* The previous hash of a stream's first event. */
constexpr Digest kGenesisHash{};

/* canonical(event) as bytes; used by tests and the documentation's example. */
std::string canonical_encoding(const EventFields &event);

/* Appends canonical(event) to out (a buffer reused across events allocates nothing). */
void append_canonical_encoding(const EventFields &event, std::string &out);

/* SHA-256(canonical(event) || previous_hash), computed without a copy. */
Digest event_hash(const EventFields &event, const Digest &previous_hash);

}  // namespace eventstore

#endif
