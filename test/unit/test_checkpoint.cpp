/*
 * test_checkpoint.cpp — checkpoint statements: the exact signed bytes, the
 * published JSON, and Ed25519 signatures made and checked with a key
 * generated for the test (openssl genpkey, as docs/tamper-evidence.md
 * tells a DBA to).
 */
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "core/checkpoint.h"

namespace eventstore {
namespace {

CheckpointStatement sample()
{
    CheckpointStatement statement;
    statement.checkpoint = 3;
    statement.tree_size = 1200;
    statement.root_hash.fill(0xab);
    statement.ledger_head.fill(0x01);
    statement.created_at = "2026-11-28T13:20:00.123456Z";
    statement.key_id = std::string(64, 'c');
    return statement;
}

std::string read_file(const std::string &path)
{
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

/* A fresh Ed25519 key pair in a temporary directory. */
struct TestKey {
    std::string private_file;
    std::string public_pem;
    TestKey()
    {
        char directory[] = "/tmp/checkpoint_test_XXXXXX";
        if (mkdtemp(directory) == nullptr)
            throw std::runtime_error("mkdtemp");
        private_file = std::string(directory) + "/key.pem";
        const std::string command = "openssl genpkey -algorithm ed25519 -out " + private_file +
                                    " && openssl pkey -in " + private_file + " -pubout -out " + private_file + ".pub";
        if (std::system(command.c_str()) != 0)
            throw std::runtime_error("openssl genpkey failed");
        public_pem = read_file(private_file + ".pub");
    }
};

TEST(Checkpoint, SignedBytesAreTheFieldsJoinedByNewlines)
{
    std::string root;
    std::string head;
    for (int i = 0; i < 32; i++) {
        root += "ab";
        head += "01";
    }
    EXPECT_EQ(checkpoint_signed_bytes(sample()), "pg_eventstore.checkpoint.v1\n3\n1200\n" + root + "\n" + head +
                                                     "\n2026-11-28T13:20:00.123456Z\n" + std::string(64, 'c'));
}

TEST(Checkpoint, JsonCarriesEveryFieldAndNullsWhenUnsigned)
{
    CheckpointStatement statement = sample();
    const std::string json = checkpoint_json(statement, "00ff");
    EXPECT_EQ(json.rfind("{\"checkpoint\":3,\"tree_size\":1200,\"root_hash\":\"abab", 0), 0u);
    EXPECT_NE(json.find("\"signature\":\"00ff\"}"), std::string::npos);
    statement.key_id.clear();
    EXPECT_NE(checkpoint_json(statement, "").find("\"key_id\":null,\"signature\":null}"), std::string::npos);
}

TEST(Checkpoint, SignatureVerifiesWithThePublicKeyOnly)
{
    const TestKey key;
    const CheckpointSigner signer(key.private_file);
    EXPECT_EQ(signer.key_id(), public_key_id(key.public_pem));
    EXPECT_EQ(signer.public_key_pem(), key.public_pem);
    CheckpointStatement statement = sample();
    statement.key_id = signer.key_id();
    const std::string bytes = checkpoint_signed_bytes(statement);
    const std::string signature = signer.sign_hex(bytes);
    EXPECT_EQ(signature.size(), 128u);
    EXPECT_TRUE(verify_checkpoint_signature(key.public_pem, bytes, signature));

    statement.tree_size = 1201; /* a changed statement */
    EXPECT_FALSE(verify_checkpoint_signature(key.public_pem, checkpoint_signed_bytes(statement), signature));
    std::string bad = signature;
    bad[0] = bad[0] == '0' ? '1' : '0';
    EXPECT_FALSE(verify_checkpoint_signature(key.public_pem, bytes, bad));
    EXPECT_FALSE(verify_checkpoint_signature(key.public_pem, bytes, "zz"));

    const TestKey other;
    EXPECT_FALSE(verify_checkpoint_signature(other.public_pem, bytes, signature));
    EXPECT_NE(public_key_id(other.public_pem), signer.key_id());
}

TEST(Checkpoint, AMissingOrWrongKeyFileIsReportedByName)
{
    try {
        CheckpointSigner signer("/nonexistent/key.pem");
        FAIL() << "no exception";
    } catch (const std::runtime_error &error) {
        EXPECT_NE(std::string(error.what()).find("/nonexistent/key.pem"), std::string::npos);
    }
    char path[] = "/tmp/checkpoint_notkey_XXXXXX";
    const int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    std::FILE *file = fdopen(fd, "w");
    std::fputs("not a key\n", file);
    std::fclose(file);
    EXPECT_THROW(CheckpointSigner signer(path), std::runtime_error);
}

}  // namespace
}  // namespace eventstore
