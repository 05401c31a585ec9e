/*
 * gucs.h — pg_eventstore's configuration parameters (pg_eventstore.*).
 *
 * Defined once in define_gucs(), called from _PG_init.  docs/configuration.md
 * documents each one.
 */
#ifndef EVENTSTORE_PG_GUCS_H
#define EVENTSTORE_PG_GUCS_H

namespace eventstore::pg {

/* pg_eventstore.max_event_size: bytes of data + metadata (jsonb) per event. */
extern int guc_max_event_size;

/* pg_eventstore.max_batch_size: bytes of data + metadata of all events of one append_batch call. */
extern int guc_max_batch_size;

/* pg_eventstore.period_lock_timeout: the longest a period change waits for appends in flight (ms). */
extern int guc_period_lock_timeout_ms;

/* pg_eventstore.database: the database the background worker serves (postmaster). */
extern char *guc_database;

/* pg_eventstore.worker_naptime: ms the worker sleeps when no commit wakes it (sighup). */
extern int guc_worker_naptime_ms;

/* Kafka publishing (sighup): brokers, extra librdkafka properties (superuser-only),
 * default topic, and the most messages in flight. */
extern char *guc_kafka_bootstrap_servers;
extern char *guc_kafka_config;
extern char *guc_kafka_topic;
extern int guc_kafka_batch_size;

/*
 * Tamper evidence (sighup; docs/tamper-evidence.md): how often the worker
 * writes a signed checkpoint (ms, and events, whichever comes first; an
 * interval of 0 turns the Merkle tree and checkpoints off), the signing key
 * file (superuser-only), the Kafka topic and the file checkpoints are also
 * published to (empty: not published there).
 */
extern int guc_checkpoint_interval_ms;
extern int guc_checkpoint_interval_events;
extern char *guc_checkpoint_signing_key;
extern char *guc_checkpoint_topic;
extern char *guc_checkpoint_file;

/*
 * Raises 58P01 or 42501 (errcode_for_file_access) naming the file when the
 * checkpoint signing key cannot be read: a configuration error, reported as
 * one before OpenSSL is asked to parse it.
 */
void check_signing_key_readable(const char *key_file);

/* pg_eventstore.inject_publisher_failure (tests only, hidden): the publisher's next rounds throw. */
extern bool guc_inject_publisher_failure;

void define_gucs();

}  // namespace eventstore::pg

#endif
