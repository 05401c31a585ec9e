/*
 * producer.h — an idempotent Kafka producer owned by the worker's main thread.
 *
 * RAII over librdkafka's rd_kafka_t.  The worker creates one lazily (never in
 * _PG_init), hands it messages with a token of its choosing, and collects the
 * delivery reports by polling from its own thread.  Nothing here calls
 * PostgreSQL, and no callback does more than copy data:
 *   - delivery reports and errors are served by poll(), on the caller's thread;
 *   - log lines arrive on librdkafka's threads and go into a LogBuffer;
 *   - when a report is waiting, librdkafka writes a byte to wakeup_fd(), so
 *     the worker can sleep on its latch and this descriptor together.
 * Every text it hands out (errors, log lines, exceptions) has the values of
 * secret properties redacted (see secret_redactor.h).
 */
#ifndef EVENTSTORE_KAFKA_PRODUCER_H
#define EVENTSTORE_KAFKA_PRODUCER_H

#include <memory>
#include <string>
#include <vector>

#include "kafka/config_list.h"
#include "kafka/log_buffer.h"
#include "kafka/outgoing_message.h"
#include "kafka/secret_redactor.h"

struct rd_kafka_s;
struct rd_kafka_queue_s;
struct rd_kafka_message_s;

namespace eventstore::kafka {

/* What produce() did with a message. */
struct ProduceResult {
    enum class Kind { Queued, QueueFull, Rejected } kind;
    DeliveryReport rejection; /* for Rejected: the permanent or retriable reason */
};

class Producer {
public:
    /* Throws std::runtime_error with librdkafka's message (secrets redacted) on a bad configuration. */
    explicit Producer(const std::vector<Property> &properties);
    ~Producer();
    Producer(const Producer &) = delete;
    Producer &operator=(const Producer &) = delete;

    /* Queues a message.  Never blocks. */
    ProduceResult produce(const OutgoingMessage &message, uint64_t token);

    /* Serves delivery reports and errors; waits at most timeout_ms. */
    void poll(int timeout_ms);

    /* Reports collected by poll() since the last call. */
    std::vector<DeliveryReport> take_delivery_reports();

    /* Client-wide errors collected by poll() (e.g. "all brokers down"). */
    std::vector<std::string> take_errors();

    /* Non-empty when the producer hit a fatal error and must be rebuilt. */
    std::string fatal_error() const;

    LogBuffer &log_buffer() { return *log_buffer_; }

    /* Readable when poll() has something to serve. */
    int wakeup_fd() const { return wakeup_read_fd_; }

    /* Empties wakeup_fd() (call before poll()). */
    void drain_wakeup_fd();

    /* Messages queued or in flight inside librdkafka. */
    int outstanding() const;

    /*
     * Bounded wait for outstanding messages before destruction (SIGHUP
     * rebuild, clean shutdown).  Those still unacknowledged afterwards are
     * simply published again by the next producer.
     */
    void flush(int timeout_ms);

private:
    static void on_delivery(rd_kafka_s *, const rd_kafka_message_s *message, void *opaque);
    static void on_error(rd_kafka_s *, int error, const char *reason, void *opaque);
    static void on_log(const rd_kafka_s *client, int level, const char *facility, const char *text);

    const SecretRedactor redactor_; /* first: the log callback may use it while the client starts */
    rd_kafka_s *client_ = nullptr;
    rd_kafka_queue_s *main_queue_ = nullptr;
    int wakeup_read_fd_ = -1;
    int wakeup_write_fd_ = -1;
    /* Owned separately so the log callback can reach it through the client's opaque. */
    std::unique_ptr<LogBuffer> log_buffer_;
    std::vector<DeliveryReport> reports_;
    std::vector<std::string> errors_;
};

}  // namespace eventstore::kafka

#endif
