/*
 * log_buffer.cpp — the thread-safe hand-over of librdkafka log lines.
 */
#include "kafka/log_buffer.h"

namespace eventstore::kafka {

void LogBuffer::append(int level, const std::string &text) noexcept
{
    try {
        std::lock_guard<std::mutex> lock(mutex_);
        if (lines_.size() >= capacity_) {
            lines_.pop_front();
            ++dropped_;
        }
        lines_.push_back(LogLine{level, text});
    } catch (...) {
        /* Out of memory in a librdkafka thread: losing a log line is the lesser harm. */
    }
}

std::vector<LogLine> LogBuffer::drain()
{
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<LogLine> out(lines_.begin(), lines_.end());
    lines_.clear();
    if (dropped_ > 0) {
        out.push_back(LogLine{4, std::to_string(dropped_) + " librdkafka log lines dropped (buffer full)"});
        dropped_ = 0;
    }
    return out;
}

}  // namespace eventstore::kafka
