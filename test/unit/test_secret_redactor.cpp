/*
 * test_secret_redactor.cpp — secrets from pg_eventstore.kafka_config never
 * appear in the texts the producer hands out (outbox_status.last_error,
 * dead letters, the server log).
 */
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "kafka/config_list.h"
#include "kafka/producer.h"
#include "kafka/secret_redactor.h"

using eventstore::kafka::is_secret_property;
using eventstore::kafka::Property;
using eventstore::kafka::Producer;
using eventstore::kafka::producer_properties;
using eventstore::kafka::SecretRedactor;

TEST(SecretRedactor, KnowsWhichPropertiesHoldSecrets)
{
    EXPECT_TRUE(is_secret_property("sasl.password"));
    EXPECT_TRUE(is_secret_property("sasl.mechanism"));
    EXPECT_TRUE(is_secret_property("sasl.oauthbearer.config"));
    EXPECT_TRUE(is_secret_property("ssl.key.pem"));
    EXPECT_TRUE(is_secret_property("ssl.keystore.password"));
    EXPECT_FALSE(is_secret_property("compression.codec"));
    EXPECT_FALSE(is_secret_property("linger.ms"));
}

TEST(SecretRedactor, ReplacesEveryOccurrenceOfEverySecret)
{
    const SecretRedactor redactor(
        std::vector<Property>{{"sasl.username", "app"}, {"sasl.password", "hunter2-app"}, {"linger.ms", "5"}});
    EXPECT_EQ(redactor.redact("login app failed with hunter2-app, then hunter2-app again (linger 5)"),
              "login [redacted] failed with [redacted], then [redacted] again (linger 5)");
}

TEST(SecretRedactor, LongerSecretFirstSoNoneIsHalfReplaced)
{
    const SecretRedactor redactor(std::vector<Property>{{"sasl.username", "abc"}, {"sasl.password", "xxabcxx"}});
    EXPECT_EQ(redactor.redact("pw xxabcxx"), "pw [redacted]");
}

TEST(SecretRedactor, AMaskThatContainsTheSecretDoesNotLoop)
{
    const SecretRedactor redactor(std::vector<Property>{{"sasl.password", "a"}});
    EXPECT_EQ(redactor.redact("a-a"), "[redacted]-[redacted]");
}

/* librdkafka quotes the value of a bad sasl.mechanism in its error: the producer must not. */
TEST(SecretRedactor, ProducerErrorsCarryNoSecret)
{
    const std::string secret = "TopSecretMechanism-42";
    try {
        Producer producer(producer_properties("127.0.0.1:1", "security.protocol=SASL_PLAINTEXT;sasl.mechanism=" +
                                                                 secret));
        FAIL() << "a producer with an unsupported SASL mechanism was created";
    } catch (const std::runtime_error &e) {
        const std::string message = e.what();
        EXPECT_EQ(message.find(secret), std::string::npos) << message;
        EXPECT_NE(message.find("[redacted]"), std::string::npos) << message;
    }
}
