/*
 * checkpoint.cpp — see checkpoint.h.
 */
#include "checkpoint.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdio>
#include <stdexcept>
#include <vector>

#include "assert_no_postgres.h"

namespace eventstore {
namespace {

constexpr std::size_t kRawPublicKeyBytes = 32;
constexpr std::size_t kSignatureBytes = 64;

/* Frees OpenSSL objects on every path out, exceptions included. */
struct PkeyFree {
    void operator()(EVP_PKEY *key) const { EVP_PKEY_free(key); }
};
struct BioFree {
    void operator()(BIO *bio) const { BIO_free(bio); }
};
struct MdCtxFree {
    void operator()(EVP_MD_CTX *context) const { EVP_MD_CTX_free(context); }
};
using OwnedKey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using OwnedBio = std::unique_ptr<BIO, BioFree>;
using OwnedMdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

std::string raw_key_id(EVP_PKEY *key)
{
    std::uint8_t raw[kRawPublicKeyBytes];
    std::size_t length = sizeof raw;
    if (EVP_PKEY_get_raw_public_key(key, raw, &length) != 1 || length != kRawPublicKeyBytes)
        throw std::runtime_error("cannot read the Ed25519 public key");
    return to_hex(sha256(std::string_view(reinterpret_cast<const char *>(raw), length)));
}

OwnedKey read_public_key(const std::string &pem)
{
    OwnedBio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!bio)
        throw std::runtime_error("out of memory reading a public key");
    OwnedKey key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
    if (!key || EVP_PKEY_id(key.get()) != EVP_PKEY_ED25519)
        throw std::runtime_error("not an Ed25519 public key in PEM form");
    return key;
}

bool decode_hex(const std::string &hex, std::vector<std::uint8_t> &out)
{
    if (hex.size() % 2 != 0)
        return false;
    out.clear();
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        auto nibble = [](char c) -> int {
            if (c >= '0' && c <= '9')
                return c - '0';
            if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
            return -1;
        };
        const int high = nibble(hex[i]);
        const int low = nibble(hex[i + 1]);
        if (high < 0 || low < 0)
            return false;
        out.push_back(static_cast<std::uint8_t>(high * 16 + low));
    }
    return true;
}

}  // namespace

std::string checkpoint_signed_bytes(const CheckpointStatement &statement)
{
    std::string bytes(kCheckpointFormatTag);
    bytes += '\n' + std::to_string(statement.checkpoint);
    bytes += '\n' + std::to_string(statement.tree_size);
    bytes += '\n' + to_hex(statement.root_hash);
    bytes += '\n' + to_hex(statement.ledger_head);
    bytes += '\n' + statement.created_at;
    bytes += '\n' + statement.key_id;
    return bytes;
}

std::string checkpoint_json(const CheckpointStatement &statement, const std::string &signature_hex)
{
    const bool is_signed = !statement.key_id.empty();
    std::string json = "{\"checkpoint\":" + std::to_string(statement.checkpoint);
    json += ",\"tree_size\":" + std::to_string(statement.tree_size);
    json += ",\"root_hash\":\"" + to_hex(statement.root_hash) + "\"";
    json += ",\"ledger_head\":\"" + to_hex(statement.ledger_head) + "\"";
    json += ",\"created_at\":\"" + statement.created_at + "\"";
    json += is_signed ? ",\"key_id\":\"" + statement.key_id + "\"" : std::string(",\"key_id\":null");
    json += is_signed ? ",\"signature\":\"" + signature_hex + "\"}" : std::string(",\"signature\":null}");
    return json;
}

CheckpointSigner::CheckpointSigner(const std::string &private_key_file) : key_(nullptr)
{
    std::FILE *file = std::fopen(private_key_file.c_str(), "r");
    if (file == nullptr)
        throw std::runtime_error("cannot open checkpoint signing key \"" + private_key_file + "\"");
    OwnedKey key(PEM_read_PrivateKey(file, nullptr, nullptr, nullptr));
    std::fclose(file);
    if (!key || EVP_PKEY_id(key.get()) != EVP_PKEY_ED25519)
        throw std::runtime_error("checkpoint signing key \"" + private_key_file +
                                 "\" is not an Ed25519 private key in PEM form");
    key_id_ = raw_key_id(key.get());
    OwnedBio bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_PUBKEY(bio.get(), key.get()) != 1)
        throw std::runtime_error("cannot export the checkpoint public key");
    char *data = nullptr;
    const long length = BIO_get_mem_data(bio.get(), &data);
    public_key_pem_.assign(data, static_cast<std::size_t>(length));
    key_ = key.release();
}

CheckpointSigner::~CheckpointSigner() { EVP_PKEY_free(key_); }

std::string CheckpointSigner::sign_hex(std::string_view bytes) const
{
    OwnedMdCtx context(EVP_MD_CTX_new());
    std::uint8_t signature[kSignatureBytes];
    std::size_t length = sizeof signature;
    if (!context || EVP_DigestSignInit(context.get(), nullptr, nullptr, nullptr, key_) != 1 ||
        EVP_DigestSign(context.get(), signature, &length, reinterpret_cast<const unsigned char *>(bytes.data()),
                       bytes.size()) != 1)
        throw std::runtime_error("Ed25519 signing failed");
    return to_hex(signature, length);
}

std::string public_key_id(const std::string &public_key_pem)
{
    return raw_key_id(read_public_key(public_key_pem).get());
}

bool verify_checkpoint_signature(const std::string &public_key_pem, std::string_view bytes,
                                 const std::string &signature_hex)
{
    std::vector<std::uint8_t> signature;
    if (!decode_hex(signature_hex, signature) || signature.size() != kSignatureBytes)
        return false;
    OwnedKey key = read_public_key(public_key_pem);
    OwnedMdCtx context(EVP_MD_CTX_new());
    if (!context || EVP_DigestVerifyInit(context.get(), nullptr, nullptr, nullptr, key.get()) != 1)
        throw std::runtime_error("Ed25519 verification could not start");
    return EVP_DigestVerify(context.get(), signature.data(), signature.size(),
                            reinterpret_cast<const unsigned char *>(bytes.data()), bytes.size()) == 1;
}

}  // namespace eventstore
