/*
 * publisher_queries.h — the SQL side of the Kafka publisher: reading the
 * next messages and durably recording what Kafka settled.
 *
 * Every function runs inside the caller's transaction and SPI connection.
 * They may ereport(ERROR); the containers they fill live in the publisher's
 * long-lived state, never on a frame an error could jump over.
 */
#ifndef EVENTSTORE_WORKER_PUBLISHER_QUERIES_H
#define EVENTSTORE_WORKER_PUBLISHER_QUERIES_H

#include "pg/pg_includes.h"

#include <vector>

#include "core/delivery_window.h"
#include "kafka/outgoing_message.h"

namespace eventstore::worker {

/*
 * Messages read for sending, with their ids (global position or outbox id).
 * The first ids.size() entries of `messages` are the batch; clear() keeps
 * every message's string buffers for the next batch, so a round that reads
 * thousands of messages does not allocate them all anew.
 */
struct MessageBatch {
    std::vector<int64_t> ids;
    std::vector<kafka::OutgoingMessage> messages;

    std::size_t size() const { return ids.size(); }
    bool empty() const { return ids.empty(); }
    /* The slot for the next message, with `id`; the caller overwrites every field. */
    kafka::OutgoingMessage &append(int64_t id)
    {
        ids.push_back(id);
        if (messages.size() < ids.size())
            messages.emplace_back();
        return messages[ids.size() - 1];
    }
    void clear() { ids.clear(); }
};

/* eventstore.publisher_state.published_position. */
int64 load_published_position();

/* Appends up to `limit` event messages after `after_position`, in order. */
void fetch_event_messages(int64 after_position, int64 limit, MessageBatch &batch);

/* Appends up to `limit` outbox messages, oldest first. */
void fetch_outbox_messages(int64 limit, MessageBatch &batch);

/* Dead-letters the refused events of `prefix` and advances the published position to its end. */
void record_settled_events(const SettledPrefix &prefix);

/* Deletes the acknowledged outbox messages of `prefix`, moves its refused ones to dead letters. */
void record_settled_outbox(const SettledPrefix &prefix);

}  // namespace eventstore::worker

#endif
