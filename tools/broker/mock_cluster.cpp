// mock_cluster.cpp — owns librdkafka's mock cluster and applies faults to it.
#include "mock_cluster.h"

#include <stdexcept>

namespace broker {

namespace {
// Produce is request type (ApiKey) 0 in the Kafka protocol.
constexpr int16_t kProduceApiKey = 0;
}  // namespace

MockCluster::MockCluster(int broker_count) {
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    // The handle never talks to a broker; keep its log quiet except for real
    // trouble, which goes to stderr (the broker's log file).
    rd_kafka_conf_set(conf, "log_level", "4", errstr, sizeof errstr);
    // A producer needs no group id and starts no consumer machinery.
    handle_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!handle_) {
        rd_kafka_conf_destroy(conf);  // not taken over on failure
        throw std::runtime_error(std::string("cannot create the librdkafka handle: ") + errstr);
    }
    cluster_ = rd_kafka_mock_cluster_new(handle_, broker_count);
    if (!cluster_) {
        rd_kafka_destroy(handle_);
        throw std::runtime_error("cannot create the mock cluster (could not bind its listeners?)");
    }
    broker_up_.assign(broker_count, true);
    broker_rtt_ms_.assign(broker_count, 0);
}

MockCluster::~MockCluster() {
    // The cluster must go before the handle it was created on.
    rd_kafka_mock_cluster_destroy(cluster_);
    rd_kafka_destroy(handle_);
}

std::string MockCluster::bootstrap_servers() const {
    return rd_kafka_mock_cluster_bootstraps(cluster_);
}

rd_kafka_resp_err_t MockCluster::set_broker_up(int broker_id, bool up) {
    rd_kafka_resp_err_t err = up ? rd_kafka_mock_broker_set_up(cluster_, broker_id)
                                 : rd_kafka_mock_broker_set_down(cluster_, broker_id);
    if (!err) broker_up_.at(broker_id - 1) = up;
    return err;
}

rd_kafka_resp_err_t MockCluster::set_broker_rtt(int broker_id, int rtt_ms) {
    rd_kafka_resp_err_t err = rd_kafka_mock_broker_set_rtt(cluster_, broker_id, rtt_ms);
    if (!err) broker_rtt_ms_.at(broker_id - 1) = rtt_ms;
    return err;
}

rd_kafka_resp_err_t MockCluster::create_topic(const std::string &name, int partitions, int replication_factor) {
    return rd_kafka_mock_topic_create(cluster_, name.c_str(), partitions, replication_factor);
}

void MockCluster::push_produce_errors(size_t count, rd_kafka_resp_err_t error) {
    std::vector<rd_kafka_resp_err_t> errors(count, error);
    rd_kafka_mock_push_request_errors_array(cluster_, kProduceApiKey, errors.size(), errors.data());
}

void MockCluster::clear_produce_errors() {
    rd_kafka_mock_clear_request_errors(cluster_, kProduceApiKey);
}

}  // namespace broker
