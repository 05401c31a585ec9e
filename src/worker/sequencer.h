/*
 * sequencer.h — the worker job that assigns global positions.
 * See sequencer.cpp for the method and why it never skips or reorders.
 */
#ifndef EVENTSTORE_WORKER_SEQUENCER_H
#define EVENTSTORE_WORKER_SEQUENCER_H

#include "pg/pg_includes.h"

namespace eventstore::worker {

struct SequencerRound {
    int64 events;        /* events sequenced in this round */
    int64 last_position; /* highest position after the round */
};

/* One round; the caller provides the transaction and the SPI connection. */
SequencerRound sequence_committed_events();

}  // namespace eventstore::worker

#endif
