/*
 * job_loop.h — the loop every database job of the worker family runs
 * (sequencer, publisher, and the jobs to come).
 *
 * A job is a dynamic background worker started by the launcher.  It
 * connects to pg_eventstore.database, locks its session down, and then
 * loops: reload the configuration if asked, run one round under the error
 * boundary, sleep on its latch.  What a round does is the job's own
 * business (JobSteps); everything around it is written once here:
 *   - the session: search_path = pg_catalog, pg_temp and a lock_timeout,
 *     set as overrides that a reload, ALTER ROLE or ALTER DATABASE cannot
 *     change, so no object a user created can stand in for a built-in, and
 *     a job stuck behind somebody's lock becomes a visible error;
 *   - errors: reported to the log while still on the error stack, the
 *     transaction aborted, the error state flushed (PostgreSQL's order),
 *     kept as last_error, then a growing backoff, reset by a success;
 *   - waiting: the latch is in every wait, so SIGTERM and SIGHUP are served
 *     at once in every state, including a backoff.
 */
#ifndef EVENTSTORE_WORKER_JOB_LOOP_H
#define EVENTSTORE_WORKER_JOB_LOOP_H

#include "pg/pg_includes.h"

namespace eventstore::worker {

struct JobRound {
    long sleep_ms;          /* the longest the job wants to sleep; -1: pg_eventstore.worker_naptime */
    bool extension_missing; /* the extension is not installed in the database: nothing was done */
};

/*
 * What a job does.  run_round may ereport(ERROR); the others are plain
 * steps that must not.  Optional steps are nullptr.
 */
struct JobSteps {
    int kind;                           /* JobKind */
    const char *application_name;       /* shown in pg_stat_activity */
    void (*at_start)();                 /* after connecting, before the first round */
    JobRound (*run_round)();
    void (*after_error)(const char *message); /* the round failed (already logged and recorded) */
    void (*after_naptime)();            /* the naptime passed with no wakeup */
    int (*wakeup_socket)();             /* a socket to wake on besides the latch, or -1 */
    void (*at_shutdown)();              /* clean exit after SIGTERM */
};

/* The job process's whole life; never returns. */
pg_attribute_noreturn() void run_job(const JobSteps &steps);

}  // namespace eventstore::worker

#endif
