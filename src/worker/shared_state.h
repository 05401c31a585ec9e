/*
 * shared_state.h — what the worker processes show each other and SQL.
 *
 * One slot per process of the family (launcher, sequencer, publisher),
 * written by that process and read by the eventstore.worker_status view;
 * the publisher's Kafka details for eventstore.outbox_status; and the
 * condition variable wait_for_position() sleeps on.  Exists only when
 * pg_eventstore is in shared_preload_libraries.
 *
 * Two kinds of field, two kinds of protection:
 *   - what other processes read on hot paths (a job's position, its latch,
 *     its loop count) is lock-free: atomics, or an aligned pointer;
 *   - the descriptive fields (state names, error texts, timestamps) are
 *     copied under `lock`, an LWLock, because copying a few hundred bytes is
 *     too long for a spinlock section.  Timestamps are read from the clock
 *     before the lock is taken.
 */
#ifndef EVENTSTORE_WORKER_SHARED_STATE_H
#define EVENTSTORE_WORKER_SHARED_STATE_H

#include "pg/pg_includes.h"

extern "C" {
#include "port/atomics.h"
#include "storage/condition_variable.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "utils/timestamp.h"
}

namespace eventstore::worker {

/* The processes of the family; the launcher starts the others. */
enum JobKind { kLauncher = 0, kSequencer = 1, kPublisher = 2, kProjector = 3, kJobKinds = 4 };

/* "launcher", "sequencer", "publisher", "projector". */
const char *job_name(int kind);

constexpr int kLastErrorBytes = 512;

/* The descriptive part of a slot, copied whole by worker_status.  Under `lock`. */
struct JobDescription {
    pid_t pid;                   /* 0 when the process is not running */
    char state[32];              /* "starting", "idle", "working", "backing off after error", ... */
    TimestampTz started_at;
    TimestampTz last_loop_at;
    int64 last_batch_events;     /* events in the job's last non-empty round */
    TimestampTz last_batch_at;
    TimestampTz last_error_at;
    int naptime_ms;              /* pg_eventstore.worker_naptime as this process last loaded it */
    char last_error[kLastErrorBytes];
};

struct JobSlot {
    JobDescription description;
    Latch *volatile latch;        /* set to wake the process; NULL when it is not running */
    pg_atomic_uint64 loops;       /* loop iterations since it started */
    pg_atomic_uint64 position;    /* sequencer: highest committed global position; publisher: published */
};

/* The Kafka publisher's details, behind the eventstore.outbox_status view.  Under `lock`. */
struct PublisherDetails {
    char state[32];              /* "disabled", "connecting", "publishing", "idle", "retrying" */
    int64 in_flight;             /* messages sent and not yet acknowledged */
    int64 acknowledged_total;    /* messages acknowledged since the publisher started */
    double messages_per_second;  /* acknowledgements over the last measuring interval */
    TimestampTz last_acknowledged_at;
    TimestampTz last_error_at;
    char last_error[kLastErrorBytes];
};

/* What the projector shows of one projection (projection_status, wait_for_projection).  Under `lock`. */
constexpr int kMaxProjections = 64;
constexpr int kProjectionNameBytes = 64;
struct ProjectionSlot {
    char name[kProjectionNameBytes]; /* "" when the slot is free */
    int64 position;                  /* applied and committed up to here */
    int64 applied_total;             /* events applied since the projector started */
    double events_per_second;        /* over the last measuring interval */
    TimestampTz rate_sample_at;
    int64 rate_sample_total;
};

struct WorkerSharedState {
    LWLock *lock;                        /* protects every description, `publisher` and `projections` */
    JobSlot jobs[kJobKinds];
    ConditionVariable position_advanced; /* broadcast after each sequencer commit that moved the position */
    ConditionVariable projection_advanced; /* broadcast after each projection commit */
    PublisherDetails publisher;
    ProjectionSlot projections[kMaxProjections];
};

/* NULL unless loaded through shared_preload_libraries. */
extern WorkerSharedState *worker_shared_state;

/* From _PG_init under shared_preload_libraries. */
void register_worker_shared_state();

/* The highest committed global position (0 before the sequencer's first round). */
int64 sequenced_position();

/* Sets a job's latch if it runs (lock-free). */
void wake_job(int kind);

}  // namespace eventstore::worker

#endif
