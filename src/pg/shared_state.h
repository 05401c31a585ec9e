/*
 * shared_state.h — the worker's state in shared memory.
 *
 * Written by the background worker, read by the eventstore.worker_status and
 * eventstore.outbox_status views and by backends that wake the worker (its
 * latch) or wait for a position.  Exists only when pg_eventstore is in
 * shared_preload_libraries.
 *
 * Two kinds of field, two kinds of protection:
 *   - counters that hot paths touch (every committing appender bumps
 *     commit_wakeups; wait_for_position polls sequenced_position) are
 *     atomics: no lock at all;
 *   - the descriptive fields (state names, error texts, timestamps) are
 *     copied under `lock`, an LWLock, because a copy of a few hundred bytes
 *     is too long for a spinlock section.  Timestamps are read from the
 *     clock before the lock is taken.
 */
#ifndef EVENTSTORE_PG_SHARED_STATE_H
#define EVENTSTORE_PG_SHARED_STATE_H

#include "pg_includes.h"

extern "C" {
#include "port/atomics.h"
#include "storage/condition_variable.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "utils/timestamp.h"
}

namespace eventstore::pg {

constexpr int kLastErrorBytes = 512;

/* The Kafka publisher's part, behind the eventstore.outbox_status view.  Under `lock`. */
struct PublisherSharedState {
    char state[32];              /* "disabled", "connecting", "publishing", "idle", "retrying" */
    int64 in_flight;             /* messages sent and not yet acknowledged */
    int64 acknowledged_total;    /* messages acknowledged since the worker started */
    double messages_per_second;  /* acknowledgements over the last measuring interval */
    TimestampTz last_acknowledged_at;
    TimestampTz last_error_at;
    char last_error[kLastErrorBytes];
};

/* The descriptive part of the worker's state, copied whole by worker_status.  Under `lock`. */
struct WorkerDescription {
    pid_t pid;                   /* 0 when no worker runs */
    char state[32];              /* "starting", "idle", "working", "standby", "backing off after error", ... */
    TimestampTz started_at;
    TimestampTz last_loop_at;
    int worker_naptime_ms;       /* the value of pg_eventstore.worker_naptime in use */
    int64 last_batch_events;     /* events in the last non-empty sequencer batch */
    TimestampTz last_sequenced_at;
    TimestampTz last_error_at;
    char last_error[kLastErrorBytes];
};

struct WorkerSharedState {
    LWLock *lock;                       /* protects `worker` and `publisher` */
    /*
     * The worker's process latch, NULL when none.  Written by the worker
     * under `lock`; read without it by committing appenders (an aligned
     * pointer is read whole, and a stale value only costs one wakeup that
     * the naptime covers).
     */
    Latch *volatile latch;
    pg_atomic_uint64 commit_wakeups;    /* commits that asked to wake the worker */
    pg_atomic_uint64 sequenced_position; /* highest global position assigned (committed) */
    pg_atomic_uint64 loops;             /* worker loop iterations since start */
    ConditionVariable position_advanced; /* broadcast after each sequencer commit */
    WorkerDescription worker;
    PublisherSharedState publisher;
};

/* NULL unless loaded through shared_preload_libraries. */
extern WorkerSharedState *worker_shared_state;

/* Hooks installed from _PG_init under shared_preload_libraries. */
void install_shared_state_hooks();

/* Counts a commit for the sequencer and sets the worker's latch if a worker is running. Safe from any backend. */
void wake_worker();

/* The highest committed global position the sequencer has published to shared memory. */
int64 shared_sequenced_position();

}  // namespace eventstore::pg

#endif
