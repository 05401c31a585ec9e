/*
 * canonical_event.cpp — writes the canonical v1 encoding to any byte sink.
 *
 * One writer serves both uses: building the bytes (tests, docs) and feeding a
 * SHA-256 directly (the append path, which must not allocate per event).
 */
#include "canonical_event.h"

#include "assert_no_postgres.h"

namespace eventstore {
namespace {

struct StringSink {
    std::string bytes;
    void update(const void *data, std::size_t length)
    {
        bytes.append(static_cast<const char *>(data), length);
    }
};

template <typename Sink>
void put_u32(Sink &sink, std::uint32_t value)
{
    const std::uint8_t be[4] = {static_cast<std::uint8_t>(value >> 24), static_cast<std::uint8_t>(value >> 16),
                                static_cast<std::uint8_t>(value >> 8), static_cast<std::uint8_t>(value)};
    sink.update(be, sizeof be);
}

template <typename Sink>
void put_field(Sink &sink, const void *data, std::size_t length)
{
    put_u32(sink, static_cast<std::uint32_t>(length));
    sink.update(data, length);
}

template <typename Sink>
void put_text(Sink &sink, std::string_view text)
{
    put_field(sink, text.data(), text.size());
}

/* Integers are 8-byte big-endian two's complement, length-prefixed like every field. */
template <typename Sink>
void put_int64(Sink &sink, std::int64_t value)
{
    std::uint8_t be[8];
    const auto bits = static_cast<std::uint64_t>(value);
    for (int i = 0; i < 8; ++i)
        be[i] = static_cast<std::uint8_t>(bits >> (56 - 8 * i));
    put_field(sink, be, sizeof be);
}

template <typename Sink>
void write_canonical(Sink &sink, const EventFields &event)
{
    put_text(sink, kCanonicalFormatTag);
    put_text(sink, event.stream_id);
    put_int64(sink, event.stream_version);
    put_field(sink, event.event_id.data(), event.event_id.size());
    put_text(sink, event.event_type);
    put_int64(sink, event.schema_version);
    put_int64(sink, event.event_time_unix_micros);
    put_text(sink, event.data_json);
    if (event.has_metadata)
        put_text(sink, event.metadata_json);
    else
        put_u32(sink, kAbsentFieldLength);
}

}  // namespace

std::string canonical_encoding(const EventFields &event)
{
    std::string bytes;
    append_canonical_encoding(event, bytes);
    return bytes;
}

void append_canonical_encoding(const EventFields &event, std::string &out)
{
    StringSink sink;
    sink.bytes.swap(out);
    write_canonical(sink, event);
    sink.bytes.swap(out);
}

/*
 * The encoding is written into this thread's reused buffer and hashed in
 * one update: ten small updates (one per field) cost more than copying
 * the event once.
 */
Digest event_hash(const EventFields &event, const Digest &previous_hash)
{
    thread_local StringSink sink;
    sink.bytes.clear();
    write_canonical(sink, event);
    sink.update(previous_hash.data(), previous_hash.size());
    Sha256 &hasher = reused_sha256();
    hasher.update(sink.bytes.data(), sink.bytes.size());
    return hasher.finish();
}

}  // namespace eventstore
