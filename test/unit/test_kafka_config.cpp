/*
 * test_kafka_config.cpp — pg_eventstore.kafka_config parsing, the producer
 * defaults, and which Kafka errors become dead letters.
 */
#include <gtest/gtest.h>

#include <stdexcept>

#include "kafka/config_list.h"
#include "kafka/delivery_error.h"

namespace eventstore::kafka {
namespace {

std::string value_of(const std::vector<Property> &properties, const std::string &name)
{
    std::string found;
    for (const auto &property : properties)
        if (property.first == name)
            found = property.second; /* the last one wins, as in librdkafka */
    return found;
}

TEST(KafkaConfigList, ParsesSemicolonAndNewlineSeparatedPairs)
{
    const auto properties = parse_config_list(" security.protocol = SASL_SSL ;\nsasl.password=a=b;c=1 ; ;");
    ASSERT_EQ(properties.size(), 3u);
    EXPECT_EQ(properties[0], Property("security.protocol", "SASL_SSL"));
    EXPECT_EQ(properties[1], Property("sasl.password", "a=b")) << "values may contain '='";
    EXPECT_EQ(properties[2].first, "c");
}

TEST(KafkaConfigList, EmptyTextIsNoProperties)
{
    EXPECT_TRUE(parse_config_list("").empty());
    EXPECT_TRUE(parse_config_list(" ; \n ").empty());
}

TEST(KafkaConfigList, RejectsEntriesWithoutNameOrEquals)
{
    EXPECT_THROW(parse_config_list("linger.ms"), std::invalid_argument);
    EXPECT_THROW(parse_config_list("=5"), std::invalid_argument);
}

TEST(KafkaProducerProperties, DefaultsGuaranteeIdempotentAcksAll)
{
    const auto properties = producer_properties("127.0.0.1:9092", "linger.ms=20");
    EXPECT_EQ(value_of(properties, "enable.idempotence"), "true");
    EXPECT_EQ(value_of(properties, "acks"), "all");
    EXPECT_EQ(value_of(properties, "message.timeout.ms"), "0") << "messages wait for Kafka without a time limit";
    EXPECT_EQ(value_of(properties, "bootstrap.servers"), "127.0.0.1:9092");
    EXPECT_EQ(value_of(properties, "linger.ms"), "20") << "the user's value comes last and wins";
}

TEST(KafkaProducerProperties, DefaultCodecIsGzipAndUsersMayChooseAnother)
{
    EXPECT_EQ(value_of(producer_properties("b:9092", ""), "compression.codec"), "gzip")
        << "gzip is the codec every common consumer (kafkajs included) decodes without extra packages";
    EXPECT_EQ(value_of(producer_properties("b:9092", "compression.codec=lz4"), "compression.codec"), "lz4");
}

TEST(KafkaProducerProperties, RefusesToWeakenDeliveryGuarantees)
{
    EXPECT_THROW(producer_properties("b:9092", "enable.idempotence=false"), std::invalid_argument);
    EXPECT_THROW(producer_properties("b:9092", "acks=1"), std::invalid_argument);
    EXPECT_THROW(producer_properties("b:9092", "request.required.acks=0"), std::invalid_argument);
    EXPECT_THROW(producer_properties("b:9092", "bootstrap.servers=other:9092"), std::invalid_argument);
    EXPECT_THROW(producer_properties("b:9092", "message.timeout.ms=5000"), std::invalid_argument);
    EXPECT_THROW(producer_properties("b:9092", "delivery.timeout.ms=300000"), std::invalid_argument);
    EXPECT_NO_THROW(producer_properties("b:9092", "acks=-1"));
    EXPECT_NO_THROW(producer_properties("b:9092", "message.timeout.ms=0"));
}

TEST(KafkaDeliveryError, TooLargeAndBadTopicArePermanent)
{
    EXPECT_EQ(classify_delivery_error(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE), DeliveryOutcome::Permanent);
    EXPECT_EQ(classify_delivery_error(RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED), DeliveryOutcome::Permanent);
    EXPECT_EQ(classify_delivery_error(RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC), DeliveryOutcome::Permanent);
}

TEST(KafkaDeliveryError, OutagesAreRetriable)
{
    EXPECT_EQ(classify_delivery_error(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT), DeliveryOutcome::Retriable);
    EXPECT_EQ(classify_delivery_error(RD_KAFKA_RESP_ERR__TRANSPORT), DeliveryOutcome::Retriable);
    EXPECT_EQ(classify_delivery_error(RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS), DeliveryOutcome::Retriable);
    EXPECT_EQ(classify_delivery_error(RD_KAFKA_RESP_ERR__PURGE_QUEUE), DeliveryOutcome::Retriable);
    EXPECT_EQ(classify_delivery_error(RD_KAFKA_RESP_ERR_NO_ERROR), DeliveryOutcome::Acknowledged);
}

}  // namespace
}  // namespace eventstore::kafka
