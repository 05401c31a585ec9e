/*
 * log_hasher.cpp — see log_hasher.h.  The encoders below mirror
 * src/core/canonical_event.cpp and src/core/ledger.cpp field by field.
 */
#include "log_hasher.h"

#include <openssl/evp.h>

#include <cstring>
#include <stdexcept>

namespace eventstore::verify {
namespace {

/* Big-endian writers into a buffer the caller has sized; they return the new end. */
char *put_u32(char *out, std::uint32_t value)
{
    out[0] = static_cast<char>(value >> 24);
    out[1] = static_cast<char>(value >> 16);
    out[2] = static_cast<char>(value >> 8);
    out[3] = static_cast<char>(value);
    return out + 4;
}

char *put_be64(char *out, std::int64_t value)
{
    const auto bits = static_cast<std::uint64_t>(value);
    for (int i = 0; i < 8; ++i)
        out[i] = static_cast<char>(bits >> (56 - 8 * i));
    return out + 8;
}

char *put_bytes(char *out, const void *data, std::size_t length)
{
    std::memcpy(out, data, length);
    return out + length;
}

/* A field: 4-byte length, then the bytes. */
char *put_field(char *out, const void *data, std::size_t length)
{
    return put_bytes(put_u32(out, static_cast<std::uint32_t>(length)), data, length);
}

char *put_text(char *out, std::string_view text) { return put_field(out, text.data(), text.size()); }

/* An integer field: length 8, then the value big-endian. */
char *put_int64(char *out, std::int64_t value) { return put_be64(put_u32(out, 8), value); }

}  // namespace

LogHasher::LogHasher()
    /* Fetched once: EVP_sha256() would be looked up again at every init. */
    : md_(EVP_MD_fetch(nullptr, "SHA256", nullptr)), context_(EVP_MD_CTX_new())
{
    if (md_ == nullptr || context_ == nullptr) {
        EVP_MD_free(md_);
        EVP_MD_CTX_free(context_);
        throw std::runtime_error("could not set up SHA-256");
    }
    buffer_.resize(4096);
}

LogHasher::~LogHasher()
{
    EVP_MD_CTX_free(context_);
    EVP_MD_free(md_);
}

Digest LogHasher::digest(const void *bytes, std::size_t length)
{
    Digest out{};
    unsigned int written = 0;
    /* Re-initialising a context that already holds this digest reuses its
       state: no allocation per hash. */
    if (EVP_DigestInit_ex2(context_, md_, nullptr) != 1 || EVP_DigestUpdate(context_, bytes, length) != 1 ||
        EVP_DigestFinal_ex(context_, out.data(), &written) != 1 || written != out.size())
        throw std::runtime_error("SHA-256 failed");
    return out;
}

Digest LogHasher::event_hash(const EventFields &event, const Digest &previous_hash)
{
    /* Sized once, then written with plain stores: std::string::append per
       field cost more than the copying itself. */
    const std::size_t size = 9 * 4 + kCanonicalFormatTag.size() + event.stream_id.size() + 8 +
                             event.event_id.size() + event.event_type.size() + 8 + 8 + event.data_json.size() +
                             (event.has_metadata ? event.metadata_json.size() : 0) + previous_hash.size();
    if (buffer_.size() < size)
        buffer_.resize(size);
    char *out = buffer_.data();
    out = put_text(out, kCanonicalFormatTag);
    out = put_text(out, event.stream_id);
    out = put_int64(out, event.stream_version);
    out = put_field(out, event.event_id.data(), event.event_id.size());
    out = put_text(out, event.event_type);
    out = put_int64(out, event.schema_version);
    out = put_int64(out, event.event_time_unix_micros);
    out = put_text(out, event.data_json);
    out = event.has_metadata ? put_text(out, event.metadata_json) : put_u32(out, kAbsentFieldLength);
    out = put_bytes(out, previous_hash.data(), previous_hash.size());
    return digest(buffer_.data(), static_cast<std::size_t>(out - buffer_.data()));
}

Digest LogHasher::ledger_hash(const Digest &previous, const Digest &event_hash, std::int64_t global_position)
{
    char input[32 + 32 + 8];
    put_be64(put_bytes(put_bytes(input, previous.data(), 32), event_hash.data(), 32), global_position);
    return digest(input, sizeof input);
}

Digest LogHasher::leaf_hash(const Digest &ledger_hash)
{
    char input[1 + 32];
    input[0] = 0x00; /* RFC 9162 leaf prefix */
    std::memcpy(input + 1, ledger_hash.data(), 32);
    return digest(input, sizeof input);
}

Digest LogHasher::node_hash(const Digest &left, const Digest &right)
{
    char input[1 + 32 + 32];
    input[0] = 0x01; /* RFC 9162 node prefix */
    std::memcpy(input + 1, left.data(), 32);
    std::memcpy(input + 33, right.data(), 32);
    return digest(input, sizeof input);
}

}  // namespace eventstore::verify
