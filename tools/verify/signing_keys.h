/*
 * signing_keys.h — the Ed25519 public keys an auditor trusts, and the
 * signature check of a checkpoint against them.
 *
 * Keys rotate: checkpoints signed before a rotation stay signed by the old
 * key, so the verifier takes any number of keys and checks each checkpoint
 * with the one whose key id it names.  The key id is the lowercase hex
 * SHA-256 of the raw 32-byte public key, so it is computed here from the
 * key itself, never taken from the checkpoint on trust.
 */
#ifndef EVENTSTORE_VERIFY_SIGNING_KEYS_H
#define EVENTSTORE_VERIFY_SIGNING_KEYS_H

#include <string>
#include <vector>

#include "checkpoint_line.h"
#include "core/sha256.h"

struct evp_pkey_st; /* OpenSSL's EVP_PKEY */

namespace eventstore::verify {

class SigningKeys {
public:
    enum class Verdict { valid, unknown_key, bad_signature };

    SigningKeys() = default;
    ~SigningKeys();
    SigningKeys(const SigningKeys &) = delete;
    SigningKeys &operator=(const SigningKeys &) = delete;

    /* Adds the public key of a PEM file (SubjectPublicKeyInfo, Ed25519); throws InputError. */
    void add_pem_file(const std::string &path);
    /* Adds a PEM text; throws InputError naming `origin`. */
    void add_pem(const std::string &pem, const std::string &origin);

    /* Checks a signed checkpoint's signature. */
    Verdict verify(const Checkpoint &checkpoint) const;

    std::size_t size() const { return keys_.size(); }

private:
    struct Key {
        Digest id;
        ::evp_pkey_st *key;
    };
    std::vector<Key> keys_;
};

}  // namespace eventstore::verify

#endif
