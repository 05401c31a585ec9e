/*
 * delivery_error.h — which Kafka errors mean "this message can never be
 * delivered" and which mean "try again".
 *
 * The split decides between a dead letter and a retry, so it is kept in one
 * place and unit-tested.  Anything not known to be permanent is retriable:
 * retrying a permanent failure only delays it, while dead-lettering a
 * transient one would skip a message that could have been delivered.
 */
#ifndef EVENTSTORE_KAFKA_DELIVERY_ERROR_H
#define EVENTSTORE_KAFKA_DELIVERY_ERROR_H

#include <librdkafka/rdkafka.h>

#include "kafka/outgoing_message.h"

namespace eventstore::kafka {

DeliveryOutcome classify_delivery_error(rd_kafka_resp_err_t error);

}  // namespace eventstore::kafka

#endif
