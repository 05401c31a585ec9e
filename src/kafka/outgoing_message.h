/*
 * outgoing_message.h — one message the publisher hands to Kafka, and what
 * Kafka said about it.
 *
 * Plain C++ values: the worker copies a batch out of SPI into these before
 * producing, so nothing palloc'd is ever referenced by librdkafka.
 */
#ifndef EVENTSTORE_KAFKA_OUTGOING_MESSAGE_H
#define EVENTSTORE_KAFKA_OUTGOING_MESSAGE_H

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace eventstore::kafka {

using Header = std::pair<std::string, std::string>;

struct OutgoingMessage {
    std::string topic;
    std::string key;
    bool has_key = true; /* false: a null key (outbox messages may have none) */
    std::string value;
    std::vector<Header> headers;
};

/* How a message ended, as reported by the producer's delivery report. */
enum class DeliveryOutcome {
    Acknowledged, /* written to all in-sync replicas (acks=all) */
    Permanent,    /* the message itself can never be delivered: dead letter */
    Retriable,    /* try again later (broker down, timeout, producer reset) */
};

struct DeliveryReport {
    uint64_t token;          /* the caller's id for the message */
    DeliveryOutcome outcome;
    std::string error_code;  /* librdkafka error name, empty when acknowledged */
    std::string error;       /* human-readable reason, empty when acknowledged */
};

}  // namespace eventstore::kafka

#endif
