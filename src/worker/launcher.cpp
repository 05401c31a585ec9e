/*
 * launcher.cpp — starts one background worker per job (the sequencer, the
 * Kafka publisher, the projector) and starts a job again whenever it stops.
 *
 * Why a family of processes: one process running every job let a slow job
 * hold back the others; under the heaviest append load the Kafka backlog
 * grew for as long as the load lasted, and every job to come (projections,
 * snapshots, the period clock) would have made it worse.  Each job now has
 * its own process, its own loop and its own error recovery, so one job's
 * crash, backoff or slowness never stops another's progress.
 *
 * The launcher itself is small (pg_cron's launcher is the model): a static
 * background worker registered from _PG_init, started once recovery has
 * finished (a standby runs no jobs; a promoted one starts them), restarted
 * by the postmaster if it exits.  It holds no database connection.  Its
 * loop:
 *
 *   1. reload the configuration if asked;
 *   2. start every job that is not running, waiting kJobRestartSeconds after
 *      a job's last start so that a job failing at start does not spin;
 *   3. sleep until a job starts or stops (the postmaster sets the launcher's
 *      latch: it is every job's bgw_notify_pid), a signal, or a timeout.
 *
 * Jobs are dynamic workers that the postmaster never restarts on its own
 * (BGW_NEVER_RESTART): the launcher does, which keeps one place deciding
 * what runs.  A launcher that restarts while its jobs still run finds them
 * through their slots in shared memory instead of starting duplicates; a
 * duplicate that still slips through sees the slot taken and exits.
 */
#include "pg/pg_includes.h"

#include "launcher.h"

#include <cstring>

#include "job_slot.h"
#include "shared_state.h"

extern "C" {
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "utils/guc.h"
#include "utils/timestamp.h"
}

#include <csignal>

namespace eventstore::worker {
namespace {

/* Seconds the postmaster waits before restarting the launcher. */
constexpr int kLauncherRestartSeconds = 2;
/* Seconds between two starts of the same job. */
constexpr int kJobRestartSeconds = 2;
/* The launcher's safety-net sleep. */
constexpr long kLauncherNaptimeMs = 1000;

/* What the launcher knows of each job it started.  Plain data. */
struct JobProcess {
    BackgroundWorkerHandle *handle; /* NULL: not started by this launcher */
    TimestampTz last_start;
};
JobProcess job_processes[kJobKinds];

const int kJobs[] = {kSequencer, kPublisher, kProjector};

void reload_configuration_if_asked()
{
    if (!ConfigReloadPending)
        return;
    ConfigReloadPending = false;
    ProcessConfigFile(PGC_SIGHUP);
    record_job_configuration();
}

/* Whether a job runs or is about to: its handle says so, or (after a launcher restart) its slot does. */
bool job_running(int kind)
{
    JobProcess &process = job_processes[kind];
    if (process.handle != nullptr) {
        pid_t pid;
        switch (GetBackgroundWorkerPid(process.handle, &pid)) {
        case BGWH_STARTED:
        case BGWH_NOT_YET_STARTED:
            return true;
        case BGWH_POSTMASTER_DIED:
            proc_exit(1);
        case BGWH_STOPPED:
            pfree(process.handle);
            process.handle = nullptr;
            return false;
        }
    }
    LWLockAcquire(worker_shared_state->lock, LW_SHARED);
    const pid_t pid = worker_shared_state->jobs[kind].description.pid;
    LWLockRelease(worker_shared_state->lock);
    return pid != 0 && kill(pid, 0) == 0;
}

void start_job(int kind)
{
    BackgroundWorker worker;
    memset(&worker, 0, sizeof worker);
    worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
    worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
    worker.bgw_restart_time = BGW_NEVER_RESTART;
    worker.bgw_notify_pid = MyProcPid;
    strlcpy(worker.bgw_library_name, "pg_eventstore", BGW_MAXLEN);
    snprintf(worker.bgw_function_name, BGW_MAXLEN, "eventstore_%s_main", job_name(kind));
    snprintf(worker.bgw_name, BGW_MAXLEN, "pg_eventstore %s", job_name(kind));
    snprintf(worker.bgw_type, BGW_MAXLEN, "pg_eventstore %s", job_name(kind));

    job_processes[kind].last_start = GetCurrentTimestamp();
    if (!RegisterDynamicBackgroundWorker(&worker, &job_processes[kind].handle)) {
        job_processes[kind].handle = nullptr;
        char message[128];
        snprintf(message, sizeof message, "no free background worker slot for the %s; raise max_worker_processes",
                 job_name(kind));
        record_job_error(message);
        ereport(WARNING, (errmsg("pg_eventstore launcher: %s", message)));
    }
}

/* Step: start the jobs that are not running; returns how soon to look again (ms). */
long start_missing_jobs()
{
    long next_look_ms = kLauncherNaptimeMs;
    const TimestampTz now = GetCurrentTimestamp();
    for (int kind : kJobs) {
        if (job_running(kind))
            continue;
        const TimestampTz allowed =
            TimestampTzPlusMilliseconds(job_processes[kind].last_start, kJobRestartSeconds * 1000);
        if (job_processes[kind].last_start != 0 && now < allowed) {
            next_look_ms = Min(next_look_ms, (long)((allowed - now) / 1000) + 1);
            continue;
        }
        start_job(kind);
    }
    return next_look_ms;
}

/* Step: sleep until a job starts or stops, a signal, or the timeout. */
void wait_for_job_events(long timeout_ms)
{
    (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, timeout_ms, PG_WAIT_EXTENSION);
    ResetLatch(MyLatch);
}

}  // namespace

void register_launcher()
{
    BackgroundWorker worker;
    memset(&worker, 0, sizeof worker);
    worker.bgw_flags = BGWORKER_SHMEM_ACCESS;
    worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
    worker.bgw_restart_time = kLauncherRestartSeconds;
    strlcpy(worker.bgw_library_name, "pg_eventstore", BGW_MAXLEN);
    strlcpy(worker.bgw_function_name, "eventstore_launcher_main", BGW_MAXLEN);
    strlcpy(worker.bgw_name, "pg_eventstore launcher", BGW_MAXLEN);
    strlcpy(worker.bgw_type, "pg_eventstore launcher", BGW_MAXLEN);
    RegisterBackgroundWorker(&worker);
}

}  // namespace eventstore::worker

using namespace eventstore::worker;

extern "C" {

PGDLLEXPORT void eventstore_launcher_main(Datum);

void eventstore_launcher_main(Datum)
{
    pqsignal(SIGHUP, SignalHandlerForConfigReload);
    pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
    BackgroundWorkerUnblockSignals();
    if (worker_shared_state == nullptr || !attach_job_slot(kLauncher))
        proc_exit(0);
    set_job_state("running");
    ereport(LOG, (errmsg("pg_eventstore launcher started")));

    while (!ShutdownRequestPending) {
        reload_configuration_if_asked();
        const long next_look_ms = start_missing_jobs();
        record_job_loop();
        wait_for_job_events(next_look_ms);
    }
    /* Exit code 1: restarted by the postmaster unless the server is shutting down. */
    proc_exit(1);
}

}  // extern "C"
