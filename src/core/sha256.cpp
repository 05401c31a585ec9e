/*
 * sha256.cpp — SHA-256 through OpenSSL 3's EVP API (the non-deprecated path).
 */
#include "sha256.h"

#include <openssl/evp.h>

#include <stdexcept>

#include "assert_no_postgres.h"

namespace eventstore {
namespace {

/*
 * SHA-256 fetched once per process: OpenSSL 3 looks the algorithm up again
 * on every initialisation given EVP_sha256().  Never freed: it lives as
 * long as the process.
 */
const EVP_MD *sha256_algorithm()
{
    static EVP_MD *const algorithm = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (algorithm == nullptr)
        throw std::runtime_error("could not fetch SHA-256 from OpenSSL");
    return algorithm;
}

}  // namespace

Sha256::Sha256() : context_(EVP_MD_CTX_new())
{
    if (context_ == nullptr)
        throw std::runtime_error("could not allocate a SHA-256 context");
    try {
        reset();
    } catch (...) {
        EVP_MD_CTX_free(context_);
        throw;
    }
}

void Sha256::reset()
{
    if (EVP_DigestInit_ex2(context_, sha256_algorithm(), nullptr) != 1)
        throw std::runtime_error("could not initialise SHA-256");
}

Sha256::~Sha256() { EVP_MD_CTX_free(context_); }

void Sha256::update(const void *bytes, std::size_t length)
{
    if (length > 0 && EVP_DigestUpdate(context_, bytes, length) != 1)
        throw std::runtime_error("SHA-256 update failed");
}

Digest Sha256::finish()
{
    Digest digest{};
    unsigned int written = 0;
    if (EVP_DigestFinal_ex(context_, digest.data(), &written) != 1 || written != digest.size())
        throw std::runtime_error("SHA-256 finalisation failed");
    return digest;
}

Digest sha256(std::string_view bytes)
{
    Sha256 &hasher = reused_sha256();
    hasher.update(bytes);
    return hasher.finish();
}

Sha256 &reused_sha256()
{
    thread_local Sha256 hasher;
    hasher.reset();
    return hasher;
}

std::string to_hex(const std::uint8_t *bytes, std::size_t length)
{
    static const char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(length * 2);
    for (std::size_t i = 0; i < length; ++i) {
        out.push_back(digits[bytes[i] >> 4]);
        out.push_back(digits[bytes[i] & 0x0f]);
    }
    return out;
}

}  // namespace eventstore
