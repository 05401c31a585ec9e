/*
 * log_buffer.h — text that librdkafka's threads want logged, held until the
 * worker's main thread can log it.
 *
 * librdkafka calls its log callback from its own threads.  PostgreSQL's elog
 * must never run there, so the callback only appends a copy of the line under
 * a mutex, and the worker drains the buffer between rounds.  The buffer is
 * bounded: if nobody drains it, old lines are counted and dropped rather than
 * growing memory.
 */
#ifndef EVENTSTORE_KAFKA_LOG_BUFFER_H
#define EVENTSTORE_KAFKA_LOG_BUFFER_H

#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

namespace eventstore::kafka {

struct LogLine {
    int level; /* syslog level as librdkafka gives it: 0 emergency .. 7 debug */
    std::string text;
};

class LogBuffer {
public:
    explicit LogBuffer(std::size_t capacity = 1000) : capacity_(capacity) {}

    /* Called from any thread; never blocks for long and never throws out. */
    void append(int level, const std::string &text) noexcept;

    /* Everything buffered so far, oldest first; a note about dropped lines last. */
    std::vector<LogLine> drain();

private:
    std::mutex mutex_;
    std::deque<LogLine> lines_;
    std::size_t capacity_;
    std::size_t dropped_ = 0;
};

}  // namespace eventstore::kafka

#endif
