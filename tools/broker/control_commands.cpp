// control_commands.cpp — parses and applies the control commands listed in
// ControlCommands::usage() (documented for users in docs/broker.md).
#include "control_commands.h"

#include "kafka_error_names.h"

#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <vector>

namespace broker {

namespace {

std::vector<std::string> split_words(const std::string &line) {
    std::istringstream stream(line);
    std::vector<std::string> words;
    for (std::string word; stream >> word;) words.push_back(word);
    return words;
}

// Strict decimal parsing: "2x" or "" are mistakes worth reporting, not 2 or 0.
bool parse_int(const std::string &text, long min, long max, long *out) {
    if (text.empty() || text.size() > 9) return false;
    for (char c : text)
        if (c < '0' || c > '9') return false;
    long value = std::atol(text.c_str());
    if (value < min || value > max) return false;
    *out = value;
    return true;
}

std::string error_reply(const std::string &message) { return "error: " + message; }

// Upper bounds: large enough for any test, small enough that a typo (an
// extra zero or two) is reported instead of wedging the cluster.
constexpr long kMaxInjectedErrors = 100000;
constexpr long kMaxPartitions = 1000;
constexpr long kMaxRttMs = 600000;

}  // namespace

ControlCommands::ControlCommands(MockCluster &cluster, int default_partitions)
    : cluster_(cluster), default_partitions_(default_partitions) {}

const char *ControlCommands::usage() {
    return "commands: status | broker-down ID | broker-up ID | all-down | all-up"
           " | produce-errors COUNT ERROR | clear-produce-errors"
           " | create-topic NAME [PARTITIONS [REPLICATION]] | rtt ID MS | help";
}

std::string ControlCommands::execute(const std::string &line) {
    const std::vector<std::string> words = split_words(line);
    if (words.empty()) return error_reply("empty command; " + std::string(usage()));
    const std::string &command = words[0];
    const size_t arg_count = words.size() - 1;

    auto wrong_arguments = [&]() { return error_reply("wrong arguments for " + command + "; " + usage()); };
    auto broker_id_arg = [&](const std::string &text, long *id) {
        return parse_int(text, 1, cluster_.broker_count(), id);
    };
    auto no_such_broker = [&](const std::string &text) {
        return error_reply("no broker " + text + " (ids are 1.." + std::to_string(cluster_.broker_count()) + ")");
    };
    auto librdkafka_failed = [&](rd_kafka_resp_err_t err) {
        return error_reply(command + " failed: " + kafka_error_name(err) + ": " + rd_kafka_err2str(err));
    };

    if (command == "help") {
        if (arg_count != 0) return wrong_arguments();
        return std::string("ok ") + usage();
    }

    if (command == "status") {
        if (arg_count != 0) return wrong_arguments();
        std::string reply = "ok brokers=" + std::to_string(cluster_.broker_count());
        for (int id = 1; id <= cluster_.broker_count(); id++) {
            reply += " " + std::to_string(id) + "=" + (cluster_.is_up(id) ? "up" : "down");
            if (cluster_.rtt_ms(id) > 0) reply += "/rtt" + std::to_string(cluster_.rtt_ms(id)) + "ms";
        }
        return reply + " bootstrap=" + cluster_.bootstrap_servers();
    }

    if (command == "broker-down" || command == "broker-up") {
        if (arg_count != 1) return wrong_arguments();
        long id;
        if (!broker_id_arg(words[1], &id)) return no_such_broker(words[1]);
        const bool up = command == "broker-up";
        if (rd_kafka_resp_err_t err = cluster_.set_broker_up(static_cast<int>(id), up)) return librdkafka_failed(err);
        return "ok broker " + words[1] + (up ? " up" : " down");
    }

    if (command == "all-down" || command == "all-up") {
        if (arg_count != 0) return wrong_arguments();
        const bool up = command == "all-up";
        for (int id = 1; id <= cluster_.broker_count(); id++)
            if (rd_kafka_resp_err_t err = cluster_.set_broker_up(id, up)) return librdkafka_failed(err);
        return "ok all " + std::to_string(cluster_.broker_count()) + " brokers" + (up ? " up" : " down");
    }

    if (command == "produce-errors") {
        if (arg_count != 2) return wrong_arguments();
        long count;
        if (!parse_int(words[1], 1, kMaxInjectedErrors, &count))
            return error_reply("COUNT must be 1.." + std::to_string(kMaxInjectedErrors) + ", got '" + words[1] + "'");
        std::optional<rd_kafka_resp_err_t> error = parse_kafka_error(words[2]);
        if (!error)
            return error_reply("unknown Kafka error '" + words[2] +
                               "' (use a name such as NOT_ENOUGH_REPLICAS, REQUEST_TIMED_OUT, "
                               "MESSAGE_TOO_LARGE, _TRANSPORT, or a code such as 19)");
        cluster_.push_produce_errors(static_cast<size_t>(count), *error);
        return "ok next " + words[1] + " produce requests fail with " + kafka_error_name(*error) + " (" +
               std::to_string(static_cast<int>(*error)) + ")";
    }

    if (command == "clear-produce-errors") {
        if (arg_count != 0) return wrong_arguments();
        cluster_.clear_produce_errors();
        return "ok produce errors cleared";
    }

    if (command == "create-topic") {
        if (arg_count < 1 || arg_count > 3) return wrong_arguments();
        const std::string &name = words[1];
        long partitions = default_partitions_;
        if (arg_count >= 2 && !parse_int(words[2], 1, kMaxPartitions, &partitions))
            return error_reply("PARTITIONS must be 1.." + std::to_string(kMaxPartitions) + ", got '" + words[2] + "'");
        // Kafka refuses a replication factor above the broker count; so do we.
        long replication = std::min(3, cluster_.broker_count());
        if (arg_count == 3 && !parse_int(words[3], 1, cluster_.broker_count(), &replication))
            return error_reply("REPLICATION must be 1.." + std::to_string(cluster_.broker_count()) + ", got '" +
                               words[3] + "'");
        if (rd_kafka_resp_err_t err =
                cluster_.create_topic(name, static_cast<int>(partitions), static_cast<int>(replication)))
            return librdkafka_failed(err);
        return "ok topic " + name + " partitions=" + std::to_string(partitions) +
               " replication=" + std::to_string(replication);
    }

    if (command == "rtt") {
        if (arg_count != 2) return wrong_arguments();
        long id, rtt_ms;
        if (!broker_id_arg(words[1], &id)) return no_such_broker(words[1]);
        if (!parse_int(words[2], 0, kMaxRttMs, &rtt_ms))
            return error_reply("MS must be 0.." + std::to_string(kMaxRttMs) + ", got '" + words[2] + "'");
        if (rd_kafka_resp_err_t err = cluster_.set_broker_rtt(static_cast<int>(id), static_cast<int>(rtt_ms)))
            return librdkafka_failed(err);
        return "ok broker " + words[1] + " rtt " + words[2] + "ms";
    }

    return error_reply("unknown command '" + command + "'; " + usage());
}

}  // namespace broker
