/*
 * worker_main.cpp — the pg_eventstore background worker: registration and
 * its main loop.
 *
 * One loop, each job in its own short transaction: the sequencer, then the
 * Kafka publisher (which also wakes the loop when Kafka acknowledges).
 * The loop sleeps on its latch, which committing appenders set (see
 * src/pg/commit_wakeup.cpp), with pg_eventstore.worker_naptime as the safety
 * net.  SIGTERM ends it cleanly, SIGHUP reloads the configuration, in every
 * state including a backoff, and the postmaster restarts it a few seconds
 * after a crash.  It is registered to start only once recovery has
 * finished, so a standby runs no jobs and a promoted standby starts them.
 *
 * A failing job does not kill the worker: its error is reported to the
 * server log, its transaction is rolled back, the error is kept in shared
 * memory for eventstore.worker_status, and the loop backs off (growing,
 * reset by the next success) before the next attempt.
 *
 * The worker connects as the bootstrap superuser, so its session is locked
 * down before it runs anything: search_path = pg_catalog, pg_temp (no
 * object a user created can stand in for a built-in function), and a
 * lock_timeout, so a job stuck behind somebody's lock becomes a visible
 * error instead of a silent stall.  Both are set as overrides, which a
 * configuration reload, ALTER ROLE or ALTER DATABASE cannot change.
 */
#include "pg/pg_includes.h"

#include "pg/gucs.h"
#include "pg/shared_state.h"
#include "core/backoff.h"
#include "job_transaction.h"
#include "publisher.h"
#include "sequencer.h"
#include "worker_registration.h"

extern "C" {
#include "access/xact.h"
#include "access/xlog.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
}

#include <cstring>

namespace eventstore::worker {
namespace {

using pg::worker_shared_state;

/* How long a job statement waits for a lock before it fails (and is shown in worker_status). */
constexpr const char *kJobLockTimeout = "5s";

void set_state(const char *state)
{
    LWLockAcquire(worker_shared_state->lock, LW_EXCLUSIVE);
    strlcpy(worker_shared_state->worker.state, state, sizeof worker_shared_state->worker.state);
    LWLockRelease(worker_shared_state->lock);
}

/* The job running now, named in last_error ("sequencer: ..."). */
const char *current_job = "worker";

void record_error(const char *message)
{
    const TimestampTz now = GetCurrentTimestamp();
    LWLockAcquire(worker_shared_state->lock, LW_EXCLUSIVE);
    snprintf(worker_shared_state->worker.last_error, sizeof worker_shared_state->worker.last_error, "%s: %s",
             current_job, message);
    worker_shared_state->worker.last_error_at = now;
    LWLockRelease(worker_shared_state->lock);
}

void detach_from_shared_state(int, Datum)
{
    LWLockAcquire(worker_shared_state->lock, LW_EXCLUSIVE);
    worker_shared_state->worker.pid = 0;
    worker_shared_state->latch = nullptr;
    strlcpy(worker_shared_state->worker.state, "stopped", sizeof worker_shared_state->worker.state);
    LWLockRelease(worker_shared_state->lock);
}

void attach_to_shared_state()
{
    const TimestampTz now = GetCurrentTimestamp();
    LWLockAcquire(worker_shared_state->lock, LW_EXCLUSIVE);
    worker_shared_state->worker.pid = MyProcPid;
    worker_shared_state->latch = MyLatch;
    worker_shared_state->worker.started_at = now;
    worker_shared_state->worker.worker_naptime_ms = pg::guc_worker_naptime_ms;
    strlcpy(worker_shared_state->worker.state, "starting", sizeof worker_shared_state->worker.state);
    LWLockRelease(worker_shared_state->lock);
    before_shmem_exit(detach_from_shared_state, 0);
}

/*
 * The worker's session settings, fixed before it runs any statement.
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
     * The worker's statements are short, planned for each round and run
     * many times a second: compiling one with the JIT or starting parallel
     * workers for it costs more than it can save.
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
    LWLockAcquire(worker_shared_state->lock, LW_EXCLUSIVE);
    worker_shared_state->worker.worker_naptime_ms = pg::guc_worker_naptime_ms;
    LWLockRelease(worker_shared_state->lock);
    elog(LOG, "pg_eventstore worker: configuration reloaded (worker_naptime = %d ms)", pg::guc_worker_naptime_ms);
}

/*
 * When the sequencer has work.  A round costs a transaction and a WAL flush,
 * and the loop also wakes for every batch of Kafka acknowledgements, so a
 * round runs only when an append committed since the last round began (the
 * commit_wakeups counter, which a committing appender bumps after its
 * transaction became visible), on the naptime safety net (prepared
 * transactions, restored rows), and whenever the last round did not finish.
 * Plain data: survives an ERROR in a round.
 */
struct SequencerSchedule {
    bool due = true;              /* run at the next loop whatever the counter says */
    uint64 wakeups_seen = 0;      /* commit_wakeups when the last finished round began */
    int64 sequenced_position = 0; /* what the last finished round left, for the publisher */
};
SequencerSchedule sequencer_schedule;

/* After a failed round: when the next attempt may start.  Plain data. */
struct Backoff {
    long delay_ms = 0;         /* 0: not backing off */
    TimestampTz retry_at = 0;
};
Backoff backoff;

uint64 read_commit_wakeups()
{
    return pg_atomic_read_u64(&worker_shared_state->commit_wakeups);
}

/* Runs a sequencer round; false when the extension is not installed. */
bool run_sequencer_round()
{
    current_job = "sequencer";
    /* Read before the round's snapshot: a commit counted later moves the counter again. */
    const uint64 wakeups = read_commit_wakeups();
    begin_job_transaction("pg_eventstore: sequencing");
    const bool installed = OidIsValid(get_extension_oid("pg_eventstore", true));
    SequencerRound round = {0, 0};
    if (installed)
        round = sequence_committed_events();
    commit_job_transaction();
    if (!installed)
        return false;

    pg_atomic_write_u64(&worker_shared_state->sequenced_position, (uint64)round.last_position);
    if (round.events > 0) {
        const TimestampTz now = GetCurrentTimestamp();
        LWLockAcquire(worker_shared_state->lock, LW_EXCLUSIVE);
        worker_shared_state->worker.last_batch_events = round.events;
        worker_shared_state->worker.last_sequenced_at = now;
        LWLockRelease(worker_shared_state->lock);
        ConditionVariableBroadcast(&worker_shared_state->position_advanced);
    }

    sequencer_schedule.wakeups_seen = wakeups;
    sequencer_schedule.sequenced_position = round.last_position;
    sequencer_schedule.due = false;
    return true;
}

/*
 * Runs the jobs once, each in its own transaction.  Returns false when the
 * extension is not installed in the worker's database.  *publisher_sleep_ms
 * is the longest the publisher wants the loop to sleep (-1: no limit).
 */
bool run_jobs_once(long *publisher_sleep_ms)
{
    if (sequencer_schedule.due || read_commit_wakeups() != sequencer_schedule.wakeups_seen) {
        sequencer_schedule.due = true; /* until this round finishes */
        if (!run_sequencer_round())
            return false;
    }
    current_job = "publisher";
    *publisher_sleep_ms = run_publisher_round(sequencer_schedule.sequenced_position);
    return true;
}

/*
 * run_jobs_once() under the loop's error boundary.  Returns true when the
 * round succeeded (the extension may still be missing: *installed says).
 *
 * The recovery follows PostgreSQL's own order: report the error while it is
 * still on the error stack, abort the transaction (which also releases SPI,
 * locks and buffers), and only then flush the error state.
 */
bool run_jobs_guarded(bool *installed, long *publisher_sleep_ms, MemoryContext loop_context)
{
    volatile bool ok = true;
    PG_TRY();
    {
        *installed = run_jobs_once(publisher_sleep_ms);
    }
    PG_CATCH();
    {
        HOLD_INTERRUPTS();
        MemoryContextSwitchTo(loop_context);
        ErrorData *error = CopyErrorData();
        EmitErrorReport();
        AbortCurrentTransaction();
        FlushErrorState();
        record_error(error->message);
        FreeErrorData(error);
        RESUME_INTERRUPTS();
        ok = false;
    }
    PG_END_TRY();
    return ok;
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

/* Step: run the jobs; returns how long the loop may sleep. */
long run_round(MemoryContext loop_context)
{
    long sleep_ms = pg::guc_worker_naptime_ms;
    set_state("working");
    bool installed = false;
    long publisher_sleep_ms = -1;
    if (run_jobs_guarded(&installed, &publisher_sleep_ms, loop_context)) {
        backoff.delay_ms = 0;
        set_state(installed ? "idle" : "waiting for extension");
        if (publisher_sleep_ms >= 0)
            sleep_ms = Min(sleep_ms, publisher_sleep_ms);
    } else {
        backoff.delay_ms = next_backoff_ms(backoff.delay_ms);
        backoff.retry_at = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), backoff.delay_ms);
        sleep_ms = backoff.delay_ms;
        sequencer_schedule.due = true; /* the extension may be gone: look again */
        set_state("backing off after error");
    }
    /*
     * A background worker reports its table statistics only when asked.
     * Without this, the rows it writes (log_positions, publisher_state)
     * never reach the statistics collector, so autovacuum never analyzes or
     * vacuums those tables, and the planner, knowing nothing of
     * log_positions, turned the publisher's 10,000-row read into a hash join
     * over the whole log.  At most once a second; between transactions.
     */
    (void)pgstat_report_stat(false);
    pg_atomic_fetch_add_u64(&worker_shared_state->loops, 1);
    const TimestampTz now = GetCurrentTimestamp();
    LWLockAcquire(worker_shared_state->lock, LW_EXCLUSIVE);
    worker_shared_state->worker.last_loop_at = now;
    LWLockRelease(worker_shared_state->lock);
    return sleep_ms;
}

/*
 * Step: sleep until a commit, a Kafka delivery report, a signal or the
 * timeout.  The latch is always in the set, so SIGTERM and SIGHUP are
 * served at once even while backing off (a commit that wakes a backing-off
 * loop only sends it back to sleep for the rest of the backoff).
 */
void wait_for_wakeup(long sleep_ms)
{
    int events = WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH;
    /* Kafka delivery reports wake the loop too, so acknowledgements are recorded promptly. */
    const pgsocket kafka_fd = backoff.delay_ms > 0 ? PGINVALID_SOCKET : publisher_wakeup_fd();
    if (kafka_fd != PGINVALID_SOCKET)
        events |= WL_SOCKET_READABLE;
    const int woke = WaitLatchOrSocket(MyLatch, events, kafka_fd, sleep_ms, PG_WAIT_EXTENSION);
    /*
     * The naptime safety net ran out: a commit that did not wake the
     * worker (COMMIT PREPARED, restored rows) is found now.  Shorter
     * timeouts are the publisher's and say nothing about commits.
     */
    if ((woke & WL_TIMEOUT) && sleep_ms >= pg::guc_worker_naptime_ms)
        sequencer_schedule.due = true;
    ResetLatch(MyLatch);
    CHECK_FOR_INTERRUPTS();
}

}  // namespace
}  // namespace eventstore::worker

using namespace eventstore;
using namespace eventstore::worker;

extern "C" {

PGDLLEXPORT void eventstore_worker_main(Datum);

void eventstore_worker_main(Datum)
{
    pqsignal(SIGHUP, SignalHandlerForConfigReload);
    pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
    BackgroundWorkerUnblockSignals();

    if (pg::worker_shared_state == nullptr)
        ereport(FATAL, (errmsg("pg_eventstore worker: shared memory missing; is pg_eventstore in "
                               "shared_preload_libraries?")));
    attach_to_shared_state();

    BackgroundWorkerInitializeConnection(pg::guc_database, nullptr, 0);
    pgstat_report_appname("pg_eventstore worker");
    lock_down_session();
    ereport(LOG, (errmsg("pg_eventstore worker started for database \"%s\"", pg::guc_database)));

    MemoryContext loop_context =
        AllocSetContextCreate(TopMemoryContext, "pg_eventstore worker loop", ALLOCSET_DEFAULT_SIZES);

    while (!ShutdownRequestPending) {
        reload_configuration_if_asked();
        MemoryContextSwitchTo(loop_context);
        MemoryContextReset(loop_context);

        long sleep_ms = pg::guc_worker_naptime_ms;
        if (RecoveryInProgress())
            set_state("standby"); /* only reachable if started early; a standby never runs jobs */
        else if (!still_backing_off(&sleep_ms))
            sleep_ms = run_round(loop_context);
        wait_for_wakeup(sleep_ms);
    }

    /*
     * Exit code 1, not 0: a worker that exits 0 is never restarted, and a
     * SIGTERM that is not a server shutdown (pg_terminate_backend, DROP
     * DATABASE ... WITH (FORCE)) must not leave the store without a worker.
     * At server shutdown the postmaster restarts nothing anyway.
     */
    ereport(LOG, (errmsg("pg_eventstore worker shutting down")));
    if (!RecoveryInProgress())
        stop_publisher();
    proc_exit(1);
}

}  // extern "C"

namespace eventstore::worker {

void register_worker()
{
    BackgroundWorker worker;
    memset(&worker, 0, sizeof worker);
    worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
    worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
    worker.bgw_restart_time = kRestartSeconds;
    strlcpy(worker.bgw_library_name, "pg_eventstore", BGW_MAXLEN);
    strlcpy(worker.bgw_function_name, "eventstore_worker_main", BGW_MAXLEN);
    strlcpy(worker.bgw_name, "pg_eventstore worker", BGW_MAXLEN);
    strlcpy(worker.bgw_type, "pg_eventstore worker", BGW_MAXLEN);
    RegisterBackgroundWorker(&worker);
}

}  // namespace eventstore::worker
