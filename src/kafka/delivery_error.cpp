/*
 * delivery_error.cpp — permanent versus retriable Kafka errors (see the header).
 */
#include "kafka/delivery_error.h"

namespace eventstore::kafka {

DeliveryOutcome classify_delivery_error(rd_kafka_resp_err_t error)
{
    switch (error) {
    case RD_KAFKA_RESP_ERR_NO_ERROR:
        return DeliveryOutcome::Acknowledged;
    /* The message is too big for the client or the broker. */
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    /* The broker rejects the record or its topic for what it is. */
    case RD_KAFKA_RESP_ERR_INVALID_MSG:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_POLICY_VIOLATION:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
    /* The topic does not exist and the cluster will not create it. */
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
        return DeliveryOutcome::Permanent;
    default:
        return DeliveryOutcome::Retriable;
    }
}

}  // namespace eventstore::kafka
