/*
 * signing_keys.cpp — see signing_keys.h.  Ed25519 is PureEdDSA: OpenSSL
 * verifies it through EVP_DigestVerify with a NULL digest (the message is
 * hashed inside the algorithm), in one call, never with Update/Final.
 */
#include "signing_keys.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>

#include "byte_source.h"
#include "errors.h"

namespace eventstore::verify {

SigningKeys::~SigningKeys()
{
    for (Key &k : keys_)
        EVP_PKEY_free(k.key);
}

void SigningKeys::add_pem_file(const std::string &path) { add_pem(read_whole_file(path), path); }

void SigningKeys::add_pem(const std::string &pem, const std::string &origin)
{
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())),
                                                   &BIO_free);
    if (!bio)
        throw InputError("could not read the public key " + origin);
    EVP_PKEY *key = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
    if (key == nullptr)
        throw InputError("\"" + origin + "\" holds no PEM public key (expected `openssl pkey -pubout` output)");
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> owned(key, &EVP_PKEY_free);
    if (EVP_PKEY_get_base_id(key) != EVP_PKEY_ED25519)
        throw InputError("the public key in \"" + origin + "\" is not an Ed25519 key");
    unsigned char raw[32];
    std::size_t raw_length = sizeof raw;
    if (EVP_PKEY_get_raw_public_key(key, raw, &raw_length) != 1 || raw_length != sizeof raw)
        throw InputError("could not read the raw Ed25519 key of \"" + origin + "\"");
    const Digest id = sha256(std::string_view(reinterpret_cast<const char *>(raw), raw_length));
    for (const Key &k : keys_)
        if (k.id == id)
            return; /* given twice: one is enough */
    keys_.push_back(Key{id, owned.release()});
}

SigningKeys::Verdict SigningKeys::verify(const Checkpoint &checkpoint) const
{
    const Key *key = nullptr;
    for (const Key &k : keys_)
        if (k.id == checkpoint.key_id)
            key = &k;
    if (key == nullptr)
        return Verdict::unknown_key;

    const std::string message = signed_message(checkpoint);
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    if (!context || EVP_DigestVerifyInit(context.get(), nullptr, nullptr, nullptr, key->key) != 1)
        throw std::runtime_error("could not set up Ed25519 verification");
    const int result =
        EVP_DigestVerify(context.get(), checkpoint.signature.data(), checkpoint.signature.size(),
                         reinterpret_cast<const unsigned char *>(message.data()), message.size());
    /* 1 is a valid signature; 0 an invalid one; anything else an error, which
       for a malformed signature is also "not signed by this key". */
    return result == 1 ? Verdict::valid : Verdict::bad_signature;
}

}  // namespace eventstore::verify
