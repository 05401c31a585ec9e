/*
 * job_loop.cpp — the loop every database job runs (see the header).
 */
#include "job_loop.h"

#include "core/backoff.h"
#include "job_slot.h"
#include "job_transaction.h"
#include "pg/gucs.h"
#include "shared_state.h"

extern "C" {
#include "access/xact.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
}

namespace eventstore::worker {
namespace {

/* How long a job statement waits for a lock before it fails (and is shown in worker_status). */
constexpr const char *kJobLockTimeout = "5s";
/* How long a job waits for a lock before it checks for a deadlock (the server's default is 1 s). */
constexpr const char *kJobDeadlockTimeout = "100ms";

/* After a failed round: when the next attempt may start.  Plain data: survives an ERROR. */
struct Backoff {
    long delay_ms = 0; /* 0: not backing off */
    TimestampTz retry_at = 0;
};
Backoff backoff;

/*
 * The job's session settings, fixed before it runs any statement.
 * PGC_S_OVERRIDE outranks the configuration file, ALTER ROLE/DATABASE SET
 * and a reload.
 */
void lock_down_session()
{
    /* Only built-in functions and operators can be found by an unqualified name. */
    SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_SUSET, PGC_S_OVERRIDE);
    /* A lock held by somebody else fails the round visibly rather than stalling it. */
    SetConfigOption("lock_timeout", kJobLockTimeout, PGC_SUSET, PGC_S_OVERRIDE);
    /*
     * In a deadlock with a user's statement (DROP EXTENSION, a DBA's DDL),
     * the job is the one that gives way: it checks for deadlocks long
     * before the user's session does, so it is the one aborted, and simply
     * retries its round.
     */
    SetConfigOption("deadlock_timeout", kJobDeadlockTimeout, PGC_SUSET, PGC_S_OVERRIDE);
    /*
     * Job statements are short, planned for each round and run many times a
     * second: compiling one with the JIT or starting parallel workers for it
     * costs more than it can save.
     */
    SetConfigOption("jit", "off", PGC_SUSET, PGC_S_OVERRIDE);
    SetConfigOption("max_parallel_workers_per_gather", "0", PGC_SUSET, PGC_S_OVERRIDE);
}

void reload_configuration_if_asked()
{
    if (!ConfigReloadPending)
        return;
    ConfigReloadPending = false;
    ProcessConfigFile(PGC_SIGHUP);
    record_job_configuration();
    elog(DEBUG1, "pg_eventstore %s: configuration reloaded", job_name(my_job_kind()));
}

/* Step: a failed round waits out its backoff; true while it does (*sleep_ms: the rest of it). */
bool still_backing_off(long *sleep_ms)
{
    if (backoff.delay_ms == 0)
        return false;
    const TimestampTz now = GetCurrentTimestamp();
    if (now >= backoff.retry_at)
        return false;
    *sleep_ms = (long)((backoff.retry_at - now) / 1000) + 1;
    return true;
}

/*
 * One round under the error boundary.  Returns false when it failed: the
 * error was reported to the log, its transaction aborted, the error state
 * flushed (in that order, as PostgreSQL's own recovery does), and the
 * message kept as the slot's last_error.
 */
bool run_round_guarded(const JobSteps &steps, JobRound *round, MemoryContext loop_context)
{
    volatile bool ok = true;
    PG_TRY();
    {
        *round = steps.run_round();
    }
    PG_CATCH();
    {
        ErrorData *error = recover_from_error(loop_context, true);
        record_job_error(error->message);
        if (steps.after_error != nullptr)
            steps.after_error(error->message);
        FreeErrorData(error);
        ok = false;
    }
    PG_END_TRY();
    return ok;
}

/* Step: run a round; returns how long the loop may sleep. */
long run_round(const JobSteps &steps, MemoryContext loop_context)
{
    long sleep_ms = pg::guc_worker_naptime_ms;
    set_job_state("working");
    JobRound round = {-1, false};
    if (run_round_guarded(steps, &round, loop_context)) {
        backoff.delay_ms = 0;
        set_job_state(round.extension_missing ? "waiting for extension" : "idle");
        if (round.sleep_ms >= 0)
            sleep_ms = Min(sleep_ms, round.sleep_ms);
    } else {
        backoff.delay_ms = next_backoff_ms(backoff.delay_ms);
        backoff.retry_at = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), backoff.delay_ms);
        sleep_ms = backoff.delay_ms;
        set_job_state("backing off after error");
    }
    /*
     * A background worker reports its table statistics only when asked.
     * Without this, the rows a job writes (log_positions, publisher_state)
     * never reach the statistics system, autovacuum never analyzes or
     * vacuums those tables, and plans go wrong as the log grows (the
     * publisher's read once became a hash join over the whole log).  At
     * most once a second; between transactions.
     */
    (void)pgstat_report_stat(false);
    record_job_loop();
    return sleep_ms;
}

/* Step: sleep until the latch (a wakeup or a signal), the job's socket, or the timeout. */
void wait_for_wakeup(const JobSteps &steps, long sleep_ms)
{
    int events = WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH;
    const int socket = backoff.delay_ms > 0 || steps.wakeup_socket == nullptr ? -1 : steps.wakeup_socket();
    if (socket >= 0)
        events |= WL_SOCKET_READABLE;
    const int woke = WaitLatchOrSocket(MyLatch, events, socket, sleep_ms, PG_WAIT_EXTENSION);
    /* The naptime safety net ran out (shorter timeouts are the job's own). */
    if ((woke & WL_TIMEOUT) && sleep_ms >= pg::guc_worker_naptime_ms && steps.after_naptime != nullptr)
        steps.after_naptime();
    ResetLatch(MyLatch);
    CHECK_FOR_INTERRUPTS();
}

}  // namespace

void run_job(const JobSteps &steps)
{
    pqsignal(SIGHUP, SignalHandlerForConfigReload);
    pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
    BackgroundWorkerUnblockSignals();

    if (!attach_job_slot(steps.kind)) {
        ereport(LOG, (errmsg("pg_eventstore %s: another process already runs this job; exiting",
                             job_name(steps.kind))));
        proc_exit(0);
    }
    BackgroundWorkerInitializeConnection(pg::guc_database, nullptr, 0);
    pgstat_report_appname(steps.application_name);
    lock_down_session();
    if (steps.at_start != nullptr)
        steps.at_start();
    ereport(LOG, (errmsg("pg_eventstore %s started for database \"%s\"", job_name(steps.kind), pg::guc_database)));

    MemoryContext loop_context =
        AllocSetContextCreate(TopMemoryContext, "pg_eventstore job loop", ALLOCSET_DEFAULT_SIZES);
    while (!ShutdownRequestPending) {
        reload_configuration_if_asked();
        MemoryContextSwitchTo(loop_context);
        MemoryContextReset(loop_context);
        long sleep_ms = pg::guc_worker_naptime_ms;
        if (!still_backing_off(&sleep_ms))
            sleep_ms = run_round(steps, loop_context);
        wait_for_wakeup(steps, sleep_ms);
    }

    ereport(LOG, (errmsg("pg_eventstore %s shutting down", job_name(steps.kind))));
    if (steps.at_shutdown != nullptr)
        steps.at_shutdown();
    /*
     * Exit code 1: the launcher starts a job again after any exit, and a
     * SIGTERM that is not a server shutdown (pg_terminate_backend) must not
     * leave the store without the job.
     */
    proc_exit(1);
}

}  // namespace eventstore::worker
