/*
 * delivery_window.h — the messages the publisher has sent and not yet
 * settled, and how far it may durably advance.
 *
 * The publisher sends messages in order (events by global position, outbox
 * messages by id) and Kafka acknowledges them in any order across
 * partitions.  What may be recorded as published is only the leading run of
 * settled messages: acknowledged, or refused for good (a dead letter).
 * Recording more would skip a message that might still fail; recording less
 * only re-sends.  That is the at-least-once rule, kept here as plain data so
 * it is unit-tested without a server or a broker.
 *
 * A retriable failure (broker down past the timeout, producer rebuilt)
 * rewinds the window: once nothing is outstanding, every unsettled and later
 * message is forgotten and sent again from the durable position.
 */
#ifndef EVENTSTORE_CORE_DELIVERY_WINDOW_H
#define EVENTSTORE_CORE_DELIVERY_WINDOW_H

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

namespace eventstore {

struct DeadLetter {
    int64_t id;
    std::string error_code;
    std::string error;
};

/* The leading settled run, ready to be recorded in one transaction. */
struct SettledPrefix {
    std::size_t count = 0;          /* messages in the run */
    int64_t last_id = 0;            /* id of the last one (valid when count > 0) */
    std::vector<int64_t> acknowledged_ids;
    std::vector<DeadLetter> dead_letters;
};

class DeliveryWindow {
public:
    /* Forget everything; the next message sent must come after `durable_id`. */
    void reset(int64_t durable_id);

    /* Records a message handed to the producer; ids must increase. */
    void sent(int64_t id);

    /* Delivery outcomes; ids not in the window (a previous producer's) are ignored. */
    void acknowledged(int64_t id);
    void refused(int64_t id, const std::string &error_code, const std::string &error);
    void failed_retriably(int64_t id);

    SettledPrefix settled_prefix() const;

    /* Drops the prefix after it was durably recorded; it must be the latest settled_prefix(). */
    void remove_prefix(const SettledPrefix &prefix);

    /*
     * After a retriable failure, once no message is outstanding: forgets the
     * remaining messages so they are read and sent again.  Returns true when
     * it rewound.
     */
    bool rewind_if_settled();

    bool needs_rewind() const { return needs_rewind_; }
    std::size_t size() const { return slots_.size(); }
    std::size_t outstanding() const { return outstanding_; }
    bool empty() const { return slots_.empty(); }

    /* Highest id durably recorded (as given to reset and advanced by remove_prefix). */
    int64_t durable_id() const { return durable_id_; }
    /* Highest id sent, or durable_id() when nothing is in the window. */
    int64_t last_sent_id() const { return slots_.empty() ? durable_id_ : slots_.back().id; }

private:
    enum class State { Outstanding, Acknowledged, Refused, Failed };
    struct Slot {
        int64_t id;
        State state;
        std::string error_code;
        std::string error;
    };
    Slot *find(int64_t id);
    void settle(Slot *slot, State state);

    std::deque<Slot> slots_;
    std::size_t outstanding_ = 0;
    int64_t durable_id_ = 0;
    bool needs_rewind_ = false;
};

}  // namespace eventstore

#endif
