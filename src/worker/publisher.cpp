/*
 * publisher.cpp — the worker job that publishes to Kafka.
 *
 * What it guarantees: every sequenced event reaches Kafka at least once, in
 * global order per key, and eventstore.publisher_state.published_position
 * only ever covers messages Kafka acknowledged (or refused for good, which
 * are then in eventstore.dead_letters).  Outbox rows are deleted only once
 * acknowledged.  A crash, a kill or a broker outage can therefore cause
 * re-sends of the unacknowledged window, never a loss.
 *
 * How a round goes (run_publisher_round, called by the job loop):
 *   1. serve the producer's delivery reports (poll, on this thread) into the
 *      two DeliveryWindows (events, outbox);
 *   2. in one short transaction: record the leading settled run of each
 *      window (advance the published position, dead letters, delete
 *      acknowledged outbox rows) and read the next messages;
 *   3. after commit, hand the messages to the producer (non-blocking).
 * No transaction is ever open while waiting for Kafka; the worker sleeps on
 * its latch and the producer's wakeup descriptor together.
 *
 * librdkafka threads never run PostgreSQL code: reports and errors are
 * served by poll() here, log lines are buffered by src/kafka and logged
 * below.  C++ objects live in the long-lived Publisher state, so an ERROR
 * from SPI never jumps over a frame that owns one, and every C++ step runs
 * inside pg::guarded_call (src/pg/errors.h): an exception fails the round
 * like any ERROR, and after a failed round the producer is rebuilt from the
 * durable published position, so nothing in memory can be half-updated.
 *
 * The job runs in its own process (publisher_job in this file's bottom
 * part), woken by the sequencer's progress, by outbox commits through the
 * sequencer, and by Kafka's delivery reports on the producer's socket.
 */
#include "pg/pg_includes.h"


#include <memory>
#include <string>
#include <vector>

#include "core/backoff.h"
#include "core/delivery_window.h"
#include "job_loop.h"
#include "job_slot.h"
#include "job_transaction.h"
#include "kafka/config_list.h"
#include "kafka/producer.h"
#include "pg/errors.h"
#include "pg/gucs.h"
#include "publisher_queries.h"
#include "shared_state.h"

extern "C" {
#include "commands/extension.h"
#include "utils/timestamp.h"
}

namespace eventstore::worker {
namespace {

/* Outbox tokens carry this bit; event tokens are the global position. */
constexpr uint64_t kOutboxTokenBit = uint64_t{1} << 63;

/* Longest sleep while messages are in flight, should a wakeup be missed. */
constexpr long kInFlightSafetyNetMs = 50;
/*
 * Most event messages one round reads.  The in-flight window
 * (pg_eventstore.kafka_batch_size) may be larger: it fills over several
 * rounds.  Short reads let the producer start on the first messages while
 * the next are read, and keep each round's memory (the SPI result and the
 * copies handed to librdkafka) small and reused.
 */
constexpr int64 kMessagesPerRead = 2000;
/* How long a clean shutdown waits for outstanding acknowledgements. */
constexpr int kShutdownFlushMs = 2000;

struct Publisher {
    std::unique_ptr<kafka::Producer> producer;
    std::string producer_bootstrap; /* the settings `producer` was built from */
    std::string producer_config;

    DeliveryWindow events;      /* ids: global positions */
    DeliveryWindow outbox;      /* ids: outbox message ids */
    bool windows_loaded = false; /* false: read the published position before anything else */
    int64 loaded_position = 0;

    SettledPrefix event_prefix;  /* being recorded by the current transaction */
    SettledPrefix outbox_prefix;
    MessageBatch event_batch;    /* read by the current transaction, to send after commit */
    MessageBatch outbox_batch;

    bool more_to_read = false;  /* the last read was cut short by kMessagesPerRead */
    bool extension_missing = false; /* the last exchange found no extension in the database */

    std::vector<std::string> log_lines; /* to log from this thread */
    std::string client_error;           /* the producer's last client-wide error, for outbox_status */
    std::string failure;                /* set by C++ steps; reported after them */

    long backoff_ms = 0;
    TimestampTz retry_after = 0;

    int64 acknowledged_total = 0;
    TimestampTz last_acknowledged_at = 0;
    TimestampTz rate_sample_at = 0;
    int64 rate_sample_total = 0;
    double messages_per_second = 0;
};

/* Created on first use and kept for the life of the publisher process. */
Publisher *publisher_state = nullptr;

Publisher &state()
{
    if (publisher_state == nullptr)
        pg::guarded_call([] { publisher_state = new Publisher(); });
    return *publisher_state;
}

const char *configured_bootstrap()
{
    return pg::guc_kafka_bootstrap_servers != nullptr ? pg::guc_kafka_bootstrap_servers : "";
}

const char *configured_config()
{
    return pg::guc_kafka_config != nullptr ? pg::guc_kafka_config : "";
}

/* True when a reload changed what the producer was built from. */
bool settings_changed(const Publisher &p)
{
    return p.producer_bootstrap != configured_bootstrap() || p.producer_config != configured_config();
}

bool publishing_configured()
{
    return configured_bootstrap()[0] != '\0';
}

/* Forgets the producer and everything in flight; the durable positions stay. */
void drop_producer(Publisher &p)
{
    p.producer.reset();
    p.events.reset(p.events.durable_id());
    p.outbox.reset(0);
    p.windows_loaded = false;
}

/* Shows an error in outbox_status (plain C string: callable from the error handler too). */
void record_error(const char *message)
{
    const TimestampTz now = GetCurrentTimestamp();
    LWLockAcquire(worker_shared_state->lock, LW_EXCLUSIVE);
    strlcpy(worker_shared_state->publisher.last_error, message, sizeof worker_shared_state->publisher.last_error);
    worker_shared_state->publisher.last_error_at = now;
    LWLockRelease(worker_shared_state->lock);
}

/* A failed attempt: remember why and wait longer before the next one. */
void back_off(Publisher &p, const std::string &why)
{
    p.backoff_ms = next_backoff_ms(p.backoff_ms);
    p.retry_after = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), p.backoff_ms);
    record_error(why.c_str());
    ereport(LOG, (errmsg("pg_eventstore publisher: %s; retrying in %ld ms", why.c_str(), p.backoff_ms)));
}

void log_buffered_lines(Publisher &p)
{
    for (const std::string &line : p.log_lines)
        ereport(LOG, (errmsg("pg_eventstore publisher: %s", line.c_str())));
    p.log_lines.clear();
}

/* C++ only: builds the producer.  A bad configuration sets p.failure. */
void create_producer(Publisher &p)
{
    pg::guarded_call([&] {
        try {
            p.producer_bootstrap = configured_bootstrap();
            p.producer_config = configured_config();
            p.producer = std::make_unique<kafka::Producer>(
                kafka::producer_properties(p.producer_bootstrap, p.producer_config));
        } catch (const std::invalid_argument &e) { /* the configuration, not the code */
            p.failure = e.what();
        } catch (const std::runtime_error &e) {
            p.failure = e.what();
        }
    });
}

/* Set by pg_eventstore.inject_publisher_failure (tests): the next round's C++ step throws. */
void maybe_inject_failure()
{
    if (pg::guc_inject_publisher_failure)
        throw std::logic_error("injected failure (pg_eventstore.inject_publisher_failure is on)");
}

/* C++ only: serves delivery reports into the windows, collects errors and log lines. */
void collect_delivery_reports(Publisher &p, TimestampTz now)
{
    pg::guarded_call([&] {
        maybe_inject_failure();
        p.producer->poll(0);
        for (const kafka::DeliveryReport &report : p.producer->take_delivery_reports()) {
            const bool from_outbox = (report.token & kOutboxTokenBit) != 0;
            DeliveryWindow &window = from_outbox ? p.outbox : p.events;
            const auto id = static_cast<int64_t>(report.token & ~kOutboxTokenBit);
            switch (report.outcome) {
            case kafka::DeliveryOutcome::Acknowledged:
                window.acknowledged(id);
                p.acknowledged_total++;
                p.last_acknowledged_at = now;
                p.backoff_ms = 0;
                break;
            case kafka::DeliveryOutcome::Permanent:
                window.refused(id, report.error_code, report.error);
                p.log_lines.push_back("message " + std::to_string(id) + (from_outbox ? " (outbox)" : " (event)") +
                                      " refused by Kafka, moved to dead letters: " + report.error);
                break;
            case kafka::DeliveryOutcome::Retriable:
                if (!window.needs_rewind())
                    p.failure = "delivery failed, will send again: " + report.error_code + ": " + report.error;
                window.failed_retriably(id);
                break;
            }
        }
        for (std::string &error : p.producer->take_errors()) {
            p.log_lines.push_back("Kafka: " + error);
            p.client_error = error;
        }
        for (const kafka::LogLine &line : p.producer->log_buffer().drain())
            p.log_lines.push_back("librdkafka: " + line.text);
        const std::string fatal = p.producer->fatal_error();
        if (!fatal.empty())
            p.failure = "fatal producer error, rebuilding the producer: " + fatal;
    });
}

/* C++ only: snapshots the settled prefixes for the transaction to record. */
void take_settled_prefixes(Publisher &p)
{
    pg::guarded_call([&] {
        p.event_prefix = p.events.settled_prefix();
        p.outbox_prefix = p.outbox.settled_prefix();
    });
}

/*
 * The transaction: record what settled, read what to send next.  May
 * ereport(ERROR); nothing in memory changes until it committed.
 */
void exchange_with_database(Publisher &p, bool may_read, int64 sequenced_position)
{
    p.event_batch.clear();
    p.outbox_batch.clear();
    p.more_to_read = false;
    const int64 batch_size = pg::guc_kafka_batch_size;

    begin_job_transaction("pg_eventstore: publishing to Kafka");
    p.extension_missing = !OidIsValid(get_extension_oid("pg_eventstore", true));
    if (p.extension_missing) {
        commit_job_transaction();
        return;
    }
    /*
     * Committed with the server's synchronous_commit (normally on), not
     * asynchronously: a crash must not take back a published position that
     * was recorded, or the re-sends after restart would reach beyond the
     * in-flight window, the bound on duplicates that docs/kafka.md promises.
     * The price is one WAL flush per round that records progress, a few
     * dozen a second at full drain.
     */
    if (!p.windows_loaded)
        p.loaded_position = load_published_position();
    record_settled_events(p.event_prefix);
    record_settled_outbox(p.outbox_prefix);
    if (may_read) {
        const int64 after = p.windows_loaded ? p.events.last_sent_id() : p.loaded_position;
        const int64 room = batch_size - (p.windows_loaded ? (int64)p.events.size() : 0);
        const int64 wanted = Min(room, kMessagesPerRead);
        /* Nothing sequenced beyond what was sent: no read (the common wakeup by an acknowledgement). */
        if (wanted > 0 && !p.events.needs_rewind() && after < sequenced_position) {
            fetch_event_messages(after, wanted, p.event_batch);
            p.more_to_read = wanted < room && (int64)p.event_batch.size() == wanted;
        }
        /* Outbox ids are not committed in order: read a batch only once the last one settled. */
        if (p.outbox.size() == p.outbox_prefix.count && !p.outbox.needs_rewind())
            fetch_outbox_messages(batch_size, p.outbox_batch);
    }
    commit_job_transaction();
}

/* C++ only: after commit, move the windows forward. */
void apply_committed_exchange(Publisher &p)
{
    if (p.extension_missing)
        return;
    const int64 settled_events = (int64)p.event_prefix.count;
    pg::guarded_call([&] {
        if (!p.windows_loaded) {
            p.events.reset(p.loaded_position);
            p.outbox.reset(0);
            p.windows_loaded = true;
        } else {
            p.events.remove_prefix(p.event_prefix);
            p.outbox.remove_prefix(p.outbox_prefix);
        }
        /* Outbox ids may arrive below earlier ones (commit order): start each batch afresh. */
        if (p.outbox.empty() && !p.outbox_batch.empty())
            p.outbox.reset(0);
        p.event_prefix = SettledPrefix();
        p.outbox_prefix = SettledPrefix();
    });
    pg_atomic_write_u64(&worker_shared_state->jobs[kPublisher].position, (uint64)p.events.durable_id());
    if (settled_events > 0)
        record_job_batch(settled_events);
}

/* C++ only: hands a batch to the producer and records it in its window. */
void send_batch(Publisher &p, MessageBatch &batch, DeliveryWindow &window, uint64_t token_bit)
{
    pg::guarded_call([&] {
        for (size_t i = 0; i < batch.size(); i++) {
            const int64_t id = batch.ids[i];
            const kafka::ProduceResult result = p.producer->produce(batch.messages[i], token_bit | (uint64_t)id);
            if (result.kind == kafka::ProduceResult::Kind::QueueFull) {
                p.more_to_read = false; /* wait for acknowledgements to make room */
                break;                  /* the rest is read again next round */
            }
            window.sent(id);
            if (result.kind == kafka::ProduceResult::Kind::Rejected) {
                if (result.rejection.outcome == kafka::DeliveryOutcome::Permanent) {
                    window.refused(id, result.rejection.error_code, result.rejection.error);
                    p.log_lines.push_back("message " + std::to_string(id) +
                                          " refused by the producer, moved to dead letters: " +
                                          result.rejection.error);
                } else {
                    window.failed_retriably(id);
                    p.failure = "producing failed, will send again: " + result.rejection.error;
                    break;
                }
            }
        }
        batch.clear();
    });
}

void publish_status(Publisher &p, const char *status, TimestampTz now)
{
    if (p.rate_sample_at == 0 || TimestampDifferenceExceeds(p.rate_sample_at, now, 1000)) {
        if (p.rate_sample_at != 0) {
            const double seconds = (double)(now - p.rate_sample_at) / USECS_PER_SEC;
            p.messages_per_second = (double)(p.acknowledged_total - p.rate_sample_total) / seconds;
        }
        p.rate_sample_at = now;
        p.rate_sample_total = p.acknowledged_total;
    }
    LWLockAcquire(worker_shared_state->lock, LW_EXCLUSIVE);
    PublisherDetails &shared = worker_shared_state->publisher;
    strlcpy(shared.state, status, sizeof shared.state);
    shared.in_flight = (int64)(p.events.outstanding() + p.outbox.outstanding());
    shared.acknowledged_total = p.acknowledged_total;
    shared.messages_per_second = p.messages_per_second;
    shared.last_acknowledged_at = p.last_acknowledged_at;
    LWLockRelease(worker_shared_state->lock);
}

/* Reports a failure a C++ step left in p.failure; true when there was one. */
bool report_failure(Publisher &p)
{
    if (p.failure.empty())
        return false;
    back_off(p, p.failure);
    p.failure.clear();
    return true;
}

long milliseconds_until(TimestampTz when, TimestampTz now)
{
    return when > now ? (long)((when - now) / 1000) + 1 : 0;
}

/*
 * One round.  sequenced_position: the highest position the sequencer has
 * committed (events beyond what was sent are read only when there are
 * some).  Returns the longest the job may sleep, in ms (-1: no limit).
 */
long run_publisher_round(int64 sequenced_position)
{
    Publisher &p = state();
    TimestampTz now = GetCurrentTimestamp();

    if (!publishing_configured()) {
        if (p.producer)
            drop_producer(p);
        publish_status(p, "disabled", now);
        return -1;
    }
    if (p.producer && settings_changed(p)) {
        ereport(LOG, (errmsg("pg_eventstore publisher: Kafka settings changed, rebuilding the producer")));
        drop_producer(p);
        p.backoff_ms = 0;
        p.retry_after = 0;
    }
    if (!p.producer) {
        if (now < p.retry_after) {
            publish_status(p, "retrying", now);
            return milliseconds_until(p.retry_after, now);
        }
        create_producer(p);
        if (report_failure(p)) {
            publish_status(p, "retrying", now);
            return p.backoff_ms;
        }
        ereport(LOG, (errmsg("pg_eventstore publisher: producer created for %s", pg::guc_kafka_bootstrap_servers)));
    }

    collect_delivery_reports(p, now);
    log_buffered_lines(p);
    if (!p.client_error.empty()) {
        /* "all brokers down" and the like: shown to the operator, retried by librdkafka itself. */
        record_error(p.client_error.c_str());
        p.client_error.clear();
    }
    if (!p.failure.empty() && !p.producer->fatal_error().empty()) {
        report_failure(p);
        drop_producer(p);
        publish_status(p, "retrying", now);
        return p.backoff_ms;
    }
    report_failure(p);

    take_settled_prefixes(p);
    const bool may_read = now >= p.retry_after;
    p.more_to_read = false;
    if (p.event_prefix.count > 0 || p.outbox_prefix.count > 0 || may_read || !p.windows_loaded) {
        const bool loading = !p.windows_loaded;
        exchange_with_database(p, may_read, sequenced_position);
        apply_committed_exchange(p);
        /* Where sending starts after a start, a crash or a rebuilt producer: what may be re-sent begins here. */
        if (loading && p.windows_loaded)
            ereport(LOG, (errmsg("pg_eventstore publisher: publishing events after global position %lld",
                                 (long long)p.loaded_position)));
    }
    if (p.events.rewind_if_settled() | p.outbox.rewind_if_settled())
        ereport(LOG, (errmsg("pg_eventstore publisher: sending again from position %lld",
                             (long long)p.events.durable_id())));

    send_batch(p, p.event_batch, p.events, 0);
    send_batch(p, p.outbox_batch, p.outbox, kOutboxTokenBit);
    log_buffered_lines(p);
    report_failure(p);

    now = GetCurrentTimestamp();
    const size_t outstanding = p.events.outstanding() + p.outbox.outstanding();
    publish_status(p, now < p.retry_after ? "retrying" : outstanding > 0 ? "publishing" : "idle", now);
    if (now < p.retry_after)
        return milliseconds_until(p.retry_after, now);
    /* A read cut short: go on at once.  Otherwise acknowledgements wake the loop. */
    if (p.more_to_read)
        return 0;
    /* A short safety net while acknowledgements are awaited. */
    return outstanding > 0 ? kInFlightSafetyNetMs : -1;
}

/* ---- the publisher job's steps (see job_loop.h) ---- */

JobRound publishing_round()
{
    const long sleep_ms = run_publisher_round(sequenced_position());
    return JobRound{sleep_ms, publisher_state != nullptr && publisher_state->extension_missing};
}

/*
 * A failed round (an ERROR from SQL or a C++ exception): start again from
 * what is durable.  The producer and its windows are dropped, so a step
 * interrupted half-way leaves nothing behind; what was in flight is sent
 * again (at least once, never lost).  Runs inside the loop's error handler:
 * no ERROR may be raised here.
 */
void after_failed_round(const char *message)
{
    record_error(message);
    LWLockAcquire(worker_shared_state->lock, LW_EXCLUSIVE);
    strlcpy(worker_shared_state->publisher.state, "retrying", sizeof worker_shared_state->publisher.state);
    LWLockRelease(worker_shared_state->lock);
    if (publisher_state == nullptr)
        return;
    Publisher &p = *publisher_state;
    if (!pg::contained_call([&] {
            drop_producer(p);
            p.event_batch.clear();
            p.outbox_batch.clear();
            p.event_prefix = SettledPrefix();
            p.outbox_prefix = SettledPrefix();
            p.failure.clear();
        })) {
        /* Could not even reset: start from nothing (the durable position is reloaded). */
        publisher_state = nullptr;
    }
}

int kafka_wakeup_socket()
{
    return publisher_state != nullptr && publisher_state->producer ? publisher_state->producer->wakeup_fd() : -1;
}

/* Clean shutdown: record what Kafka acknowledges within a short wait, so a restart re-sends less. */
void flush_before_exit()
{
    if (publisher_state == nullptr || !publisher_state->producer)
        return;
    Publisher &p = *publisher_state;
    pg::guarded_call([&] { p.producer->flush(kShutdownFlushMs); });
    collect_delivery_reports(p, GetCurrentTimestamp());
    log_buffered_lines(p);
    p.failure.clear();
    take_settled_prefixes(p);
    if (p.windows_loaded && (p.event_prefix.count > 0 || p.outbox_prefix.count > 0))
        exchange_with_database(p, false, 0);
    pg::guarded_call([&] { p.producer.reset(); });
}

const JobSteps kPublisherSteps = {
    kPublisher,
    "pg_eventstore publisher",
    nullptr,
    publishing_round,
    after_failed_round,
    nullptr,
    kafka_wakeup_socket,
    flush_before_exit,
};

}  // namespace
}  // namespace eventstore::worker

extern "C" {

PGDLLEXPORT void eventstore_publisher_main(Datum);

void eventstore_publisher_main(Datum)
{
    eventstore::worker::run_job(eventstore::worker::kPublisherSteps);
}

}  // extern "C"
