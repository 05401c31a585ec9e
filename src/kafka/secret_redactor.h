/*
 * secret_redactor.h — keeps secrets from pg_eventstore.kafka_config out of
 * every error and log text the Kafka producer hands out.
 *
 * librdkafka quotes configuration values in some messages ("Unsupported
 * SASL mechanism: <value>", "Invalid value ... for property ...").  Those
 * texts reach eventstore.outbox_status.last_error, which readers may see,
 * the dead_letters table and the server log, while kafka_config itself is
 * readable by superusers only.  So the values of the properties that can
 * hold secrets are replaced by "[redacted]" wherever they appear.
 *
 * Which properties: every sasl.* and ssl.* property, and any property whose
 * name contains "password", "secret", "token", "key" or "jaas".  Their values
 * are redacted whatever their length; others (topic names, timeouts, codecs)
 * are left alone so that messages stay readable.
 */
#ifndef EVENTSTORE_KAFKA_SECRET_REDACTOR_H
#define EVENTSTORE_KAFKA_SECRET_REDACTOR_H

#include <string>
#include <vector>

#include "kafka/config_list.h"

namespace eventstore::kafka {

/* True for a property whose value pg_eventstore treats as secret. */
bool is_secret_property(const std::string &name);

class SecretRedactor {
public:
    SecretRedactor() = default;
    explicit SecretRedactor(const std::vector<Property> &properties);

    /* `text` with every secret value replaced by "[redacted]". */
    std::string redact(std::string text) const;

private:
    std::vector<std::string> secrets_; /* longest first, so a secret inside another is not half-replaced */
};

}  // namespace eventstore::kafka

#endif
