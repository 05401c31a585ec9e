/*
 * config_list.cpp — parsing pg_eventstore.kafka_config and assembling the
 * producer's properties (see the header for the format).
 */
#include "kafka/config_list.h"

#include <stdexcept>

namespace eventstore::kafka {
namespace {

std::string trim(const std::string &text)
{
    const char *blanks = " \t\r\n";
    const auto first = text.find_first_not_of(blanks);
    if (first == std::string::npos)
        return {};
    const auto last = text.find_last_not_of(blanks);
    return text.substr(first, last - first + 1);
}

}  // namespace

std::vector<Property> parse_config_list(const std::string &text)
{
    std::vector<Property> properties;
    std::string entry;
    auto finish_entry = [&]() {
        const std::string item = trim(entry);
        entry.clear();
        if (item.empty())
            return;
        const auto equals = item.find('=');
        if (equals == std::string::npos)
            throw std::invalid_argument("kafka_config entry \"" + item + "\" is not of the form name=value");
        std::string name = trim(item.substr(0, equals));
        if (name.empty())
            throw std::invalid_argument("kafka_config entry \"" + item + "\" has no property name");
        properties.emplace_back(std::move(name), trim(item.substr(equals + 1)));
    };
    for (char c : text) {
        if (c == ';' || c == '\n')
            finish_entry();
        else
            entry += c;
    }
    finish_entry();
    return properties;
}

std::vector<Property> default_producer_properties()
{
    return {
        {"enable.idempotence", "true"},
        {"acks", "all"},
        /*
         * gzip, not lz4 or zstd: it is the one codec every common consumer
         * decodes with nothing added.  kafkajs, the most used Node.js
         * client, decodes only gzip unless a codec package is registered,
         * and otherwise stops with "KafkaJSNotImplemented: LZ4 compression
         * not implemented" (test/e2e/kafkajs_consumer.sh).  Users who want
         * lz4 or zstd set compression.codec in pg_eventstore.kafka_config;
         * docs/kafka.md says what each client then needs.
         */
        {"compression.codec", "gzip"},
        /*
         * 1 ms of batching, not librdkafka's 5: under load batches fill
         * while earlier requests are in flight anyway, and at a steady
         * 5,000 events/s it took about 3 ms off the median commit-to-ack
         * time without lowering the drain rate (docs/performance.md).
         */
        {"linger.ms", "1"},
        /*
         * No local timeout: while Kafka is unreachable, messages wait in the
         * producer and go out in order when it is back.  A timeout fails the
         * oldest messages first while younger ones of the same partition
         * may still get through once the broker returns; re-sending the
         * failed ones would then put a stream's events out of order.
         */
        {"message.timeout.ms", "0"},
        {"client.id", "pg_eventstore"},
    };
}

std::vector<Property> producer_properties(const std::string &bootstrap_servers, const std::string &user_config)
{
    std::vector<Property> properties = default_producer_properties();
    properties.emplace_back("bootstrap.servers", bootstrap_servers);
    for (auto &property : parse_config_list(user_config)) {
        if (property.first == "enable.idempotence" && property.second != "true")
            throw std::invalid_argument("kafka_config cannot turn off enable.idempotence: the publisher relies on "
                                        "it to retry without duplicates or reordering");
        if ((property.first == "acks" || property.first == "request.required.acks") &&
            property.second != "all" && property.second != "-1")
            throw std::invalid_argument("kafka_config cannot set " + property.first + "=" + property.second +
                                        ": events are published with acks=all so that nothing acknowledged is lost");
        if ((property.first == "message.timeout.ms" || property.first == "delivery.timeout.ms") &&
            property.second != "0")
            throw std::invalid_argument("kafka_config cannot set " + property.first + "=" + property.second +
                                        ": a message that times out can be overtaken by a later one of its "
                                        "stream, so the publisher waits for Kafka without a time limit");
        if (property.first == "bootstrap.servers")
            throw std::invalid_argument("set the brokers with pg_eventstore.kafka_bootstrap_servers, not in "
                                        "kafka_config");
        properties.push_back(std::move(property));
    }
    return properties;
}

}  // namespace eventstore::kafka
