/*
 * shared_state.h — the worker's state in shared memory.
 *
 * Written by the background worker, read by the eventstore.worker_status view
 * and by backends that wake the worker (its latch) or wait for a position.
 * Exists only when pg_eventstore is in shared_preload_libraries.
 */
#ifndef EVENTSTORE_PG_SHARED_STATE_H
#define EVENTSTORE_PG_SHARED_STATE_H

#include "pg_includes.h"

extern "C" {
#include "storage/condition_variable.h"
#include "storage/latch.h"
#include "storage/spin.h"
#include "utils/timestamp.h"
}

namespace eventstore::pg {

constexpr int kLastErrorBytes = 512;

/* The Kafka publisher's part, behind the eventstore.outbox_status view. */
struct PublisherSharedState {
    char state[32];              /* "disabled", "connecting", "publishing", "idle", "retrying" */
    int64 in_flight;             /* messages sent and not yet acknowledged */
    int64 acknowledged_total;    /* messages acknowledged since the worker started */
    double messages_per_second;  /* acknowledgements over the last measuring interval */
    TimestampTz last_acknowledged_at;
    TimestampTz last_error_at;
    char last_error[kLastErrorBytes];
};

struct WorkerSharedState {
    slock_t mutex;               /* protects every field below */
    pid_t pid;                   /* 0 when no worker runs */
    Latch *latch;                /* the worker's process latch, NULL when none */
    uint64 commit_wakeups;       /* times wake_worker() ran: commits the sequencer has not seen yet move it */
    char state[32];              /* "starting", "idle", "working", "standby", "waiting for extension" */
    TimestampTz started_at;
    TimestampTz last_loop_at;
    int64 loops;
    int worker_naptime_ms;       /* the value of pg_eventstore.worker_naptime in use */
    int64 sequenced_position;    /* highest global position assigned (committed) */
    int64 last_batch_events;     /* events in the last non-empty sequencer batch */
    TimestampTz last_sequenced_at;
    TimestampTz last_error_at;
    char last_error[kLastErrorBytes];
    ConditionVariable position_advanced; /* broadcast after each sequencer commit */
    PublisherSharedState publisher;
};

/* NULL unless loaded through shared_preload_libraries. */
extern WorkerSharedState *worker_shared_state;

/* Hooks installed from _PG_init under shared_preload_libraries. */
void install_shared_state_hooks();

/* Counts a commit for the sequencer and sets the worker's latch if a worker is running. Safe from any backend. */
void wake_worker();

}  // namespace eventstore::pg

#endif
