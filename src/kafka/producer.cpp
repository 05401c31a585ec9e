/*
 * producer.cpp — the worker's librdkafka producer (see the header for the
 * threading rules it keeps).
 */
#include "kafka/producer.h"

#include <fcntl.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <stdexcept>

#include "kafka/delivery_error.h"

namespace eventstore::kafka {

void Producer::on_delivery(rd_kafka_s *, const rd_kafka_message_t *message, void *opaque)
{
    auto *self = static_cast<Producer *>(opaque);
    const auto token = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(message->_private));
    DeliveryReport report{token, classify_delivery_error(message->err), {}, {}};
    if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        report.error_code = rd_kafka_err2name(message->err);
        report.error = rd_kafka_err2str(message->err);
    }
    self->reports_.push_back(std::move(report));
}

void Producer::on_error(rd_kafka_s *, int error, const char *reason, void *opaque)
{
    auto *self = static_cast<Producer *>(opaque);
    self->errors_.push_back(self->redactor_.redact(
        std::string(rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(error))) + ": " + reason));
}

void Producer::on_log(const rd_kafka_s *client, int level, const char *facility, const char *text)
{
    auto *self = static_cast<Producer *>(rd_kafka_opaque(client));
    if (self == nullptr)
        return;
    /* On librdkafka's thread: nothing may escape, not even bad_alloc. */
    try {
        self->log_buffer_->append(level, self->redactor_.redact(std::string(facility) + ": " + text));
    } catch (...) {
        self->log_buffer_->append(level, "(a log line was dropped: out of memory)");
    }
}

Producer::Producer(const std::vector<Property> &properties)
    : redactor_(properties), log_buffer_(std::make_unique<LogBuffer>())
{
    char error[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    for (const auto &property : properties) {
        if (rd_kafka_conf_set(conf, property.first.c_str(), property.second.c_str(), error, sizeof error) !=
            RD_KAFKA_CONF_OK) {
            rd_kafka_conf_destroy(conf);
            throw std::runtime_error(redactor_.redact(std::string("Kafka property ") + property.first + ": " + error));
        }
    }
    rd_kafka_conf_set_opaque(conf, this);
    rd_kafka_conf_set_dr_msg_cb(conf, &Producer::on_delivery);
    rd_kafka_conf_set_error_cb(conf, &Producer::on_error);
    rd_kafka_conf_set_log_cb(conf, &Producer::on_log);

    client_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
    if (client_ == nullptr) {
        rd_kafka_conf_destroy(conf); /* rd_kafka_new takes ownership only on success */
        throw std::runtime_error(redactor_.redact(std::string("cannot create the Kafka producer: ") + error));
    }

    /*
     * A self-pipe: librdkafka writes to it when the main queue (delivery
     * reports, errors) becomes non-empty, so the worker can wait on it with
     * its latch instead of polling on a timer.
     */
    int fds[2];
    if (pipe(fds) != 0) {
        rd_kafka_destroy(client_);
        throw std::runtime_error("cannot create the Kafka wakeup pipe");
    }
    wakeup_read_fd_ = fds[0];
    wakeup_write_fd_ = fds[1];
    for (int fd : fds)
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    fcntl(wakeup_read_fd_, F_SETFD, FD_CLOEXEC);
    fcntl(wakeup_write_fd_, F_SETFD, FD_CLOEXEC);
    main_queue_ = rd_kafka_queue_get_main(client_);
    rd_kafka_queue_io_event_enable(main_queue_, wakeup_write_fd_, "1", 1);
    /*
     * The client's threads started in rd_kafka_new: a first error (say, a
     * refused connection) may already be queued, and librdkafka announces
     * only the queue's change from empty, so announce that one here.
     */
    if (rd_kafka_queue_length(main_queue_) > 0)
        (void)!write(wakeup_write_fd_, "1", 1);
}

Producer::~Producer()
{
    if (main_queue_ != nullptr) {
        rd_kafka_queue_io_event_enable(main_queue_, -1, nullptr, 0);
        rd_kafka_queue_destroy(main_queue_);
    }
    /* Purge what is still queued so destruction never waits on a dead broker. */
    rd_kafka_purge(client_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_destroy(client_);
    close(wakeup_read_fd_);
    close(wakeup_write_fd_);
}

ProduceResult Producer::produce(const OutgoingMessage &message, uint64_t token)
{
    rd_kafka_headers_t *headers = rd_kafka_headers_new(message.headers.size());
    for (const auto &header : message.headers)
        rd_kafka_header_add(headers, header.first.data(), static_cast<ssize_t>(header.first.size()),
                            header.second.data(), static_cast<ssize_t>(header.second.size()));

    const rd_kafka_resp_err_t error = rd_kafka_producev(
        client_, RD_KAFKA_V_TOPIC(message.topic.c_str()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(message.has_key ? message.key.data() : nullptr, message.has_key ? message.key.size() : 0),
        RD_KAFKA_V_VALUE(const_cast<char *>(message.value.data()), message.value.size()),
        RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_OPAQUE(reinterpret_cast<void *>(static_cast<uintptr_t>(token))),
        RD_KAFKA_V_END);
    if (error == RD_KAFKA_RESP_ERR_NO_ERROR)
        return {ProduceResult::Kind::Queued, {}};

    rd_kafka_headers_destroy(headers); /* ownership passes to librdkafka only on success */
    if (error == RD_KAFKA_RESP_ERR__QUEUE_FULL)
        return {ProduceResult::Kind::QueueFull, {}};
    return {ProduceResult::Kind::Rejected,
            DeliveryReport{token, classify_delivery_error(error), rd_kafka_err2name(error), rd_kafka_err2str(error)}};
}

void Producer::drain_wakeup_fd()
{
    char buffer[64];
    while (read(wakeup_read_fd_, buffer, sizeof buffer) > 0) {
    }
}

void Producer::poll(int timeout_ms)
{
    drain_wakeup_fd();
    /*
     * Serve until the queue is empty: the wakeup descriptor is written only
     * when the queue goes from empty to non-empty, so anything left behind
     * here would wait for an unrelated wakeup.
     */
    int served = rd_kafka_poll(client_, timeout_ms);
    while (served > 0)
        served = rd_kafka_poll(client_, 0);
}

std::vector<DeliveryReport> Producer::take_delivery_reports()
{
    std::vector<DeliveryReport> out;
    out.swap(reports_);
    return out;
}

std::vector<std::string> Producer::take_errors()
{
    std::vector<std::string> out;
    out.swap(errors_);
    return out;
}

std::string Producer::fatal_error() const
{
    char reason[512];
    const rd_kafka_resp_err_t error = rd_kafka_fatal_error(client_, reason, sizeof reason);
    if (error == RD_KAFKA_RESP_ERR_NO_ERROR)
        return {};
    return redactor_.redact(std::string(rd_kafka_err2name(error)) + ": " + reason);
}

int Producer::outstanding() const
{
    return rd_kafka_outq_len(client_);
}

void Producer::flush(int timeout_ms)
{
    rd_kafka_flush(client_, timeout_ms);
}

}  // namespace eventstore::kafka
