/*
 * test_kafka_threads.cpp — the threading rule of src/kafka: librdkafka's
 * own threads only ever hand text to a LogBuffer; delivery reports and
 * client errors reach the worker only through poll() on its own thread.
 *
 * The producer tests use a real librdkafka producer pointed at a port where
 * nothing listens, so its threads fail to connect and log about it, and a
 * message times out.  No broker is needed.
 */
#include <gtest/gtest.h>

#include <poll.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "kafka/config_list.h"
#include "kafka/log_buffer.h"
#include "kafka/producer.h"

namespace eventstore::kafka {
namespace {

TEST(KafkaLogBuffer, KeepsEveryLineOfConcurrentWritersInTheirOrder)
{
    constexpr int kThreads = 4;
    constexpr int kLinesPerThread = 500;
    LogBuffer buffer(kThreads * kLinesPerThread);
    std::vector<std::thread> writers;
    for (int t = 0; t < kThreads; t++)
        writers.emplace_back([&buffer, t]() {
            for (int i = 0; i < kLinesPerThread; i++)
                buffer.append(6, std::to_string(t) + ":" + std::to_string(i));
        });
    for (auto &writer : writers)
        writer.join();

    const std::vector<LogLine> lines = buffer.drain();
    ASSERT_EQ(lines.size(), static_cast<size_t>(kThreads * kLinesPerThread));
    std::vector<int> next(kThreads, 0);
    for (const LogLine &line : lines) {
        const auto colon = line.text.find(':');
        const int thread = std::stoi(line.text.substr(0, colon));
        EXPECT_EQ(std::stoi(line.text.substr(colon + 1)), next[thread]) << line.text;
        next[thread]++;
    }
    EXPECT_TRUE(buffer.drain().empty()) << "drain empties the buffer";
}

TEST(KafkaLogBuffer, DropsTheOldestLinesWhenFullAndSaysHowMany)
{
    LogBuffer buffer(10);
    for (int i = 0; i < 25; i++)
        buffer.append(6, "line " + std::to_string(i));
    const std::vector<LogLine> lines = buffer.drain();
    ASSERT_EQ(lines.size(), 11u);
    EXPECT_EQ(lines.front().text, "line 15");
    EXPECT_EQ(lines[9].text, "line 24");
    EXPECT_EQ(lines.back().text, "15 librdkafka log lines dropped (buffer full)");
}

/* A producer whose only broker refuses connections: port 1 on loopback. */
std::vector<Property> unreachable_broker_properties()
{
    std::vector<Property> properties = producer_properties("127.0.0.1:1", "");
    properties.emplace_back("message.timeout.ms", "300");
    properties.emplace_back("reconnect.backoff.ms", "50");
    return properties;
}

bool readable_within(int fd, int timeout_ms)
{
    struct pollfd waiting = {fd, POLLIN, 0};
    return ::poll(&waiting, 1, timeout_ms) == 1;
}

TEST(KafkaProducerThreads, LogLinesArriveWithoutTheOwnerThreadCallingIn)
{
    Producer producer(unreachable_broker_properties());
    /*
     * This thread never polls: whatever reaches the buffer was put there by
     * librdkafka's broker threads, through the log callback alone.
     */
    std::vector<LogLine> lines;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (lines.empty() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        lines = producer.log_buffer().drain();
    }
    ASSERT_FALSE(lines.empty()) << "librdkafka logged nothing about the refused connection";
    bool mentions_broker = false;
    for (const LogLine &line : lines)
        mentions_broker |= line.text.find("127.0.0.1:1") != std::string::npos;
    EXPECT_TRUE(mentions_broker) << lines.front().text;
}

TEST(KafkaProducerThreads, DeliveryReportsAndErrorsWaitForPoll)
{
    Producer producer(unreachable_broker_properties());
    OutgoingMessage message;
    message.topic = "eventstore.events";
    message.key = "account-1";
    message.value = "{\"amount\": 10}";
    message.headers = {{"ce_id", "d6a1e0b2-4f3c-4e8a-9b7d-1c2e3f405162"}};
    ASSERT_EQ(producer.produce(message, 42).kind, ProduceResult::Kind::Queued);

    /*
     * The connection errors and then the message's timeout (300 ms) happen
     * on librdkafka's threads; they are only announced on the wakeup
     * descriptor until this thread polls.
     */
    ASSERT_TRUE(readable_within(producer.wakeup_fd(), 10000)) << "nothing announced on the wakeup descriptor";
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
    EXPECT_TRUE(producer.take_delivery_reports().empty()) << "a report was delivered outside poll()";
    EXPECT_TRUE(producer.take_errors().empty()) << "an error was delivered outside poll()";

    std::vector<DeliveryReport> reports;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (reports.empty() && std::chrono::steady_clock::now() < deadline) {
        producer.poll(100);
        reports = producer.take_delivery_reports();
    }
    EXPECT_FALSE(producer.take_errors().empty()) << "poll() served no client error about the refused broker";
    ASSERT_EQ(reports.size(), 1u);
    EXPECT_EQ(reports[0].token, 42u);
    EXPECT_EQ(reports[0].outcome, DeliveryOutcome::Retriable) << reports[0].error_code;
    EXPECT_EQ(reports[0].error_code, "_MSG_TIMED_OUT");
    EXPECT_EQ(producer.outstanding(), 0);
}

}  // namespace
}  // namespace eventstore::kafka
