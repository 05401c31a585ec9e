// mock_cluster.h — the Kafka cluster itself: librdkafka's mock cluster (a
// real Kafka-protocol server on 127.0.0.1, one listener per broker), owned
// with RAII, plus the state librdkafka does not let us read back (which
// brokers are up, their round-trip delay).
#pragma once

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <string>
#include <vector>

namespace broker {

class MockCluster {
public:
    // Starts `broker_count` brokers with ids 1..broker_count.  Their listeners
    // are bound before this returns.  Throws std::runtime_error on failure.
    explicit MockCluster(int broker_count);
    ~MockCluster();
    MockCluster(const MockCluster &) = delete;
    MockCluster &operator=(const MockCluster &) = delete;

    // "127.0.0.1:PORT,127.0.0.1:PORT,..." — ports are chosen by the OS.
    std::string bootstrap_servers() const;
    int broker_count() const { return static_cast<int>(broker_up_.size()); }
    bool has_broker(int broker_id) const { return broker_id >= 1 && broker_id <= broker_count(); }
    bool is_up(int broker_id) const { return broker_up_.at(broker_id - 1); }
    int rtt_ms(int broker_id) const { return broker_rtt_ms_.at(broker_id - 1); }

    // Each returns RD_KAFKA_RESP_ERR_NO_ERROR once the mock cluster's own
    // thread has applied the change (librdkafka waits for it), so a caller
    // may act on the new state as soon as these return.
    rd_kafka_resp_err_t set_broker_up(int broker_id, bool up);
    rd_kafka_resp_err_t set_broker_rtt(int broker_id, int rtt_ms);
    rd_kafka_resp_err_t create_topic(const std::string &name, int partitions, int replication_factor);

    // The next `count` Produce requests, whichever broker receives them, are
    // answered with `error` (then production proceeds normally).
    void push_produce_errors(size_t count, rd_kafka_resp_err_t error);
    void clear_produce_errors();

private:
    rd_kafka_t *handle_ = nullptr;  // required by the mock API for bookkeeping only
    rd_kafka_mock_cluster_t *cluster_ = nullptr;
    std::vector<bool> broker_up_;
    std::vector<int> broker_rtt_ms_;
};

}  // namespace broker
