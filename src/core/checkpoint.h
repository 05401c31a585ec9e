/*
 * checkpoint.h — a signed statement of the log's Merkle root at one size,
 * the thing an auditor keeps outside the database (docs/tamper-evidence.md).
 *
 * The worker writes a checkpoint every pg_eventstore.checkpoint_interval:
 * the tree size, its root, the ledger head at that size and the time,
 * signed with Ed25519 by a key the database cannot read.  The signature
 * covers exactly the bytes of checkpoint_signed_bytes(): the fields as text
 * joined by newlines after a format tag, so a verifier in any language can
 * rebuild them from the published JSON whatever its key order or spacing.
 *
 * Both sides use this file: the worker signs, the offline verifier
 * (tools/verify) checks.  OpenSSL only; no PostgreSQL.
 */
#ifndef EVENTSTORE_CORE_CHECKPOINT_H
#define EVENTSTORE_CORE_CHECKPOINT_H

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "sha256.h"

struct evp_pkey_st; /* OpenSSL's EVP_PKEY, kept out of this header */

namespace eventstore {

constexpr std::string_view kCheckpointFormatTag = "pg_eventstore.checkpoint.v1";

struct CheckpointStatement {
    std::int64_t checkpoint = 0;   /* 1, 2, 3, ... */
    std::int64_t tree_size = 0;    /* positions 1..tree_size are covered */
    Digest root_hash{};            /* Merkle root over them (merkle.h) */
    Digest ledger_head{};          /* ledger hash at tree_size (zeros when 0) */
    std::string created_at;        /* UTC, "2026-11-28T13:20:00.123456Z" */
    std::string key_id;            /* hex SHA-256 of the raw public key; empty when unsigned */
};

/*
 * The signed bytes, fields joined by "\n", no trailing newline:
 *   pg_eventstore.checkpoint.v1 \n checkpoint \n tree_size \n root_hash hex \n
 *   ledger_head hex \n created_at \n key_id
 */
std::string checkpoint_signed_bytes(const CheckpointStatement &statement);

/*
 * The published form: one JSON object, keys in this order, no spaces
 * (signature is lowercase hex, 128 digits; key_id and signature are null
 * when unsigned).  The database stores it as jsonb, whose text form (keys
 * sorted, ", " and ": ") is what the topic, the file and the table carry.
 */
std::string checkpoint_json(const CheckpointStatement &statement, const std::string &signature_hex);

/* An Ed25519 key pair loaded from a PEM private key file (the worker's signing key). */
class CheckpointSigner {
public:
    /* Throws std::runtime_error naming the file when it cannot be read or is not an Ed25519 key. */
    explicit CheckpointSigner(const std::string &private_key_file);
    ~CheckpointSigner();
    CheckpointSigner(const CheckpointSigner &) = delete;
    CheckpointSigner &operator=(const CheckpointSigner &) = delete;

    const std::string &key_id() const { return key_id_; }
    const std::string &public_key_pem() const { return public_key_pem_; }
    /* Lowercase hex of the Ed25519 signature of bytes. */
    std::string sign_hex(std::string_view bytes) const;

private:
    ::evp_pkey_st *key_;
    std::string key_id_;
    std::string public_key_pem_;
};

/* key_id of a PEM public key (SubjectPublicKeyInfo); throws if it is not Ed25519. */
std::string public_key_id(const std::string &public_key_pem);

/* Whether signature_hex is a valid Ed25519 signature of bytes by the PEM public key. */
bool verify_checkpoint_signature(const std::string &public_key_pem, std::string_view bytes,
                                 const std::string &signature_hex);

}  // namespace eventstore

#endif
