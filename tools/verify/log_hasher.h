/*
 * log_hasher.h — the four hashes the verifier computes for every row of the
 * log (event, ledger, Merkle leaf, Merkle node), with one reused OpenSSL
 * context.
 *
 * Why not src/core's event_hash(), ledger_hash(), merkle_leaf_hash() and
 * merkle_node_hash() directly: each of them builds a core Sha256, i.e.
 * allocates and initialises a fresh EVP context (with its algorithm
 * lookup) per hash, and the canonical encoding feeds it one
 * EVP_DigestUpdate per field.  Measured on the development machine
 * (OpenSSL 3.0, SHA-NI): a core Sha256 over 72 bytes takes 396 ns, the same
 * hash on a reused context 136 ns; core event_hash of a 250-byte event
 * 675 ns.  A row needs four hashes, so the core functions alone would cap
 * the verifier near 0.15x the speed of `openssl dgst -sha256`, against a
 * target of 0.5x (issue 17).
 *
 * So this class writes the same bytes (the canonical v1 encoding of
 * docs/hash-chain.md, byte for byte what core's canonical_encoding()
 * produces) into one reusable buffer and hashes it with one update on a
 * context that lives as long as the verifier.  Core stays the authority:
 *   - every run first compares each function here with its core original
 *     (core_agreement.h);
 *   - LogVerifier recomputes with core's function whenever a hash here
 *     disagrees with the stored one, before it reports anything, so every
 *     FAIL about an event or ledger hash is core's verdict;
 *   - a hash here that AGREES with the stored one is a SHA-256 preimage
 *     match with what the database computed with core's code, which no
 *     encoding difference can produce.
 */
#ifndef EVENTSTORE_VERIFY_LOG_HASHER_H
#define EVENTSTORE_VERIFY_LOG_HASHER_H

#include <cstdint>
#include <vector>

#include "core/canonical_event.h"
#include "core/sha256.h"

struct evp_md_st;     /* OpenSSL's EVP_MD */
struct evp_md_ctx_st; /* OpenSSL's EVP_MD_CTX */

namespace eventstore::verify {

class LogHasher {
public:
    LogHasher();
    ~LogHasher();
    LogHasher(const LogHasher &) = delete;
    LogHasher &operator=(const LogHasher &) = delete;

    /* = eventstore::event_hash(event, previous_hash) */
    Digest event_hash(const EventFields &event, const Digest &previous_hash);
    /* = eventstore::ledger_hash(previous, event_hash, global_position) */
    Digest ledger_hash(const Digest &previous, const Digest &event_hash, std::int64_t global_position);
    /* = eventstore::merkle_leaf_hash(ledger_hash) */
    Digest leaf_hash(const Digest &ledger_hash);
    /* = eventstore::merkle_node_hash(left, right) */
    Digest node_hash(const Digest &left, const Digest &right);

private:
    Digest digest(const void *bytes, std::size_t length);

    ::evp_md_st *md_;
    ::evp_md_ctx_st *context_;
    std::vector<char> buffer_; /* the canonical encoding of the current event; only grows */
};

}  // namespace eventstore::verify

#endif
