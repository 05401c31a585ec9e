/*
 * config_list.h — the text form of pg_eventstore.kafka_config, and the
 * producer properties pg_eventstore sets before the user's.
 *
 * pg_eventstore.kafka_config holds any librdkafka properties as
 * "name=value" pairs separated by semicolons or newlines, for example
 *   security.protocol=SASL_SSL; sasl.mechanism=PLAIN; sasl.username=app
 * Values are taken verbatim after trimming surrounding blanks (a password
 * may contain '=').  A property given twice keeps its last value.
 */
#ifndef EVENTSTORE_KAFKA_CONFIG_LIST_H
#define EVENTSTORE_KAFKA_CONFIG_LIST_H

#include <string>
#include <utility>
#include <vector>

namespace eventstore::kafka {

using Property = std::pair<std::string, std::string>;

/* Parses the list; throws std::invalid_argument naming the bad entry. */
std::vector<Property> parse_config_list(const std::string &text);

/*
 * The delivery guarantees pg_eventstore relies on (idempotent producer,
 * acks=all, no local message timeout), plus batching and gzip compression,
 * the codec every common Kafka client decodes without extra packages.  The
 * user's list is applied after these, except that enable.idempotence, acks
 * and message.timeout.ms cannot be weakened: see producer_properties().
 */
std::vector<Property> default_producer_properties();

/*
 * Everything the producer is configured with, in order: the defaults, the
 * bootstrap servers, then the user's list.  Throws std::invalid_argument when
 * the user's list turns off idempotence or lowers acks, because the
 * publisher's no-duplicates-on-retry and nothing-lost promises rest on them.
 */
std::vector<Property> producer_properties(const std::string &bootstrap_servers, const std::string &user_config);

}  // namespace eventstore::kafka

#endif
