// kafka_error_names.h — turns the error a tester types (`NOT_ENOUGH_REPLICAS`,
// `MESSAGE_TOO_LARGE`, `19`) into the librdkafka error code the mock cluster
// injects.
#pragma once

#include <librdkafka/rdkafka.h>

#include <optional>
#include <string>

namespace broker {

// Resolves an error given by name or number.  Accepted, case-insensitively:
//  - every name librdkafka knows (rd_kafka_get_err_descs), e.g.
//    NOT_ENOUGH_REPLICAS, MSG_SIZE_TOO_LARGE, _TRANSPORT, with or without the
//    RD_KAFKA_RESP_ERR_ prefix;
//  - the Kafka protocol names where librdkafka spells them differently
//    (MESSAGE_TOO_LARGE, NOT_LEADER_OR_FOLLOWER, ...);
//  - a decimal code that librdkafka knows (e.g. 19, or -195 for _TRANSPORT).
// NO_ERROR / 0 is refused: injecting "no error" only confuses a test.
std::optional<rd_kafka_resp_err_t> parse_kafka_error(const std::string &text);

// The librdkafka name for a code, e.g. "NOT_ENOUGH_REPLICAS".
std::string kafka_error_name(rd_kafka_resp_err_t code);

}  // namespace broker
