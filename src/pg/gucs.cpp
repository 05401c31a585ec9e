/*
 * gucs.cpp — registers the pg_eventstore.* parameters.
 */
#include "gucs.h"

#include "errors.h"
#include "kafka/config_list.h"

#include "pg_includes.h"

#include <cctype>
#include <cstring>
#include <unistd.h>

extern "C" {
#include "utils/guc.h"
}

namespace eventstore::pg {

int guc_max_event_size = 1024 * 1024;
int guc_max_batch_size = 64 * 1024 * 1024;
int guc_period_lock_timeout_ms = 2000;
char *guc_database = nullptr;
int guc_worker_naptime_ms = 1000;
char *guc_kafka_bootstrap_servers = nullptr;
char *guc_kafka_config = nullptr;
char *guc_kafka_topic = nullptr;
int guc_kafka_batch_size = 10000;
bool guc_inject_publisher_failure = false;
int guc_checkpoint_interval_ms = 60 * 1000;
int guc_checkpoint_interval_events = 10000;
char *guc_checkpoint_signing_key = nullptr;
char *guc_checkpoint_topic = nullptr;
char *guc_checkpoint_file = nullptr;

namespace {

/*
 * Rejects a kafka_config that does not parse or would weaken the delivery
 * guarantees, at SET/reload time rather than in the worker later.  A check
 * hook must not raise an ERROR: the parser's exception becomes the detail.
 */
bool check_kafka_config(char **newval, void **, GucSource)
{
    char problem[kFailureMessageBytes];
    if (contained_call([&] { (void)kafka::producer_properties("", *newval == nullptr ? "" : *newval); }, problem))
        return true;
    GUC_check_errdetail("%s", problem);
    return false;
}

/*
 * The checkpoint topic must be a Kafka topic name (as checked_topic() checks
 * every other): the worker writes checkpoints to the outbox under it, and a
 * name Kafka refuses would send every checkpoint to the dead letters.
 */
bool check_checkpoint_topic(char **newval, void **, GucSource)
{
    const char *topic = *newval == nullptr ? "" : *newval;
    const size_t length = strlen(topic);
    if (length == 0)
        return true;
    bool valid = length <= 249 && strcmp(topic, ".") != 0 && strcmp(topic, "..") != 0;
    for (size_t i = 0; valid && i < length; i++)
        valid = isalnum((unsigned char)topic[i]) || topic[i] == '.' || topic[i] == '_' || topic[i] == '-';
    if (!valid)
        GUC_check_errdetail("A Kafka topic name is 1 to 249 letters, digits, \".\", \"_\" or \"-\".");
    return valid;
}

}  // namespace

void check_signing_key_readable(const char *key_file)
{
    if (access(key_file, R_OK) != 0)
        ereport(ERROR, (errcode_for_file_access(),
                        errmsg("cannot read checkpoint signing key \"%s\": %m", key_file),
                        errhint("pg_eventstore.checkpoint_signing_key names an Ed25519 private key file (PEM) that "
                                "the server's operating system user can read.")));
}

void define_gucs()
{
    DefineCustomIntVariable("pg_eventstore.max_event_size",
                            "Largest accepted event: size of data plus metadata as stored (jsonb).",
                            "Appends of larger events fail with SQLSTATE 54000 and store nothing.",
                            &guc_max_event_size, 1024 * 1024, 64, 256 * 1024 * 1024, PGC_SUSET, GUC_UNIT_BYTE,
                            nullptr, nullptr, nullptr);
    DefineCustomIntVariable("pg_eventstore.max_batch_size",
                            "Largest accepted append_batch: data plus metadata of all its events (jsonb).",
                            "Larger batches fail with SQLSTATE 54000 and store nothing; the call's memory "
                            "is about its input plus a few megabytes.",
                            &guc_max_batch_size, 64 * 1024 * 1024, 64, 1024 * 1024 * 1024, PGC_SUSET, GUC_UNIT_BYTE,
                            nullptr, nullptr, nullptr);
    DefineCustomIntVariable("pg_eventstore.period_lock_timeout",
                            "Longest a period close, reopen, policy change or clock move waits for appends.",
                            "Appends to the category queue behind a waiting change, so a change that an open "
                            "append transaction holds up gives up after this long with SQLSTATE 55P03.",
                            &guc_period_lock_timeout_ms, 2000, 1, 10 * 60 * 1000, PGC_USERSET, GUC_UNIT_MS,
                            nullptr, nullptr, nullptr);
    DefineCustomStringVariable("pg_eventstore.database",
                               "Database whose event log the background worker sequences.",
                               "The extension must be created in this database.", &guc_database, "postgres",
                               PGC_POSTMASTER, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("pg_eventstore.worker_naptime",
                            "How long the worker sleeps when no commit wakes it.",
                            "Commits wake the worker at once; this is the safety net (for example for "
                            "prepared transactions committed later).",
                            &guc_worker_naptime_ms, 1000, 10, 60 * 1000, PGC_SIGHUP, GUC_UNIT_MS, nullptr, nullptr,
                            nullptr);
    DefineCustomStringVariable("pg_eventstore.kafka_bootstrap_servers",
                               "Kafka brokers the worker publishes to (host:port,host:port).",
                               "Empty (the default) turns publishing off: events wait in the store.",
                               &guc_kafka_bootstrap_servers, "", PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
    DefineCustomStringVariable("pg_eventstore.kafka_config",
                               "Further librdkafka producer properties, name=value separated by semicolons.",
                               "For SASL/SSL and tuning.  Readable by superusers only: it may hold secrets.",
                               &guc_kafka_config, "", PGC_SIGHUP, GUC_SUPERUSER_ONLY, check_kafka_config, nullptr,
                               nullptr);
    DefineCustomStringVariable("pg_eventstore.kafka_topic",
                               "Topic for events of categories without a route (see eventstore.add_route).", nullptr,
                               &guc_kafka_topic, "eventstore.events", PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("pg_eventstore.kafka_batch_size",
                            "Most messages the publisher keeps in flight (sent, not yet acknowledged).", nullptr,
                            &guc_kafka_batch_size, 10000, 1, 1000000, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("pg_eventstore.checkpoint_interval",
                            "Longest time between two signed checkpoints of the log's Merkle root.",
                            "A checkpoint is written when this much time or checkpoint_interval_events events "
                            "have passed since the last one, whichever comes first, and only when the log grew. "
                            "0 turns the Merkle tree and checkpoints off.",
                            &guc_checkpoint_interval_ms, 60 * 1000, 0, 24 * 60 * 60 * 1000, PGC_SIGHUP, GUC_UNIT_MS,
                            nullptr, nullptr, nullptr);
    DefineCustomIntVariable("pg_eventstore.checkpoint_interval_events",
                            "Most sequenced events between two signed checkpoints.", nullptr,
                            &guc_checkpoint_interval_events, 10000, 1, 1000 * 1000 * 1000, PGC_SIGHUP, 0, nullptr,
                            nullptr, nullptr);
    DefineCustomStringVariable("pg_eventstore.checkpoint_signing_key",
                               "Ed25519 private key file (PEM) the worker signs checkpoints with.",
                               "Readable by the server process, never through SQL. Empty: checkpoints are unsigned.",
                               &guc_checkpoint_signing_key, "", PGC_SIGHUP, GUC_SUPERUSER_ONLY, nullptr, nullptr,
                               nullptr);
    DefineCustomStringVariable("pg_eventstore.checkpoint_topic",
                               "Kafka topic every checkpoint is also published to (through the outbox).",
                               "Empty (the default): checkpoints are not published to Kafka.", &guc_checkpoint_topic,
                               "", PGC_SIGHUP, 0, check_checkpoint_topic, nullptr, nullptr);
    DefineCustomStringVariable("pg_eventstore.checkpoint_file",
                               "File every checkpoint line is also appended to (outside the data directory).",
                               "Empty (the default): no file.", &guc_checkpoint_file, "", PGC_SIGHUP,
                               GUC_SUPERUSER_ONLY, nullptr, nullptr, nullptr);
    DefineCustomBoolVariable("pg_eventstore.inject_publisher_failure",
                             "For tests: every publisher round throws a C++ exception while this is on.",
                             "Shows that a failure inside the publisher's C++ code is recorded and recovered "
                             "from, not fatal.",
                             &guc_inject_publisher_failure, false, PGC_SIGHUP, GUC_NOT_IN_SAMPLE | GUC_NO_SHOW_ALL,
                             nullptr, nullptr, nullptr);
    MarkGUCPrefixReserved("pg_eventstore");
}

}  // namespace eventstore::pg
