/*
 * projector_job.cpp — the projector's process: projections are applied in
 * a process of their own, so a slow or failing handler never delays
 * sequencing or Kafka; aggregate snapshots are taken here too, after their
 * events are sequenced, never in the append transaction.  Woken by the
 * sequencer after each of its rounds (which also follow the commits that
 * create or resume a projection); the naptime is the safety net.  While
 * some projection is behind, it goes round again at once; each round gives
 * every projection one batch.
 *
 * Then the period books and the period clock (period_keeper.h).
 *
 * A failing fold must not hold the projections up: snapshot errors (and
 * period errors) are caught here, logged and shown in worker_status, and
 * that step backs off on its own schedule while the projections go on.
 * (Snapshots are only a shortcut: load_state answers the same without them.)
 */
#include "pg/pg_includes.h"

#include "core/backoff.h"
#include "job_loop.h"
#include "job_slot.h"
#include "anchor_keeper.h"
#include "job_transaction.h"
#include "period_keeper.h"
#include "projector.h"
#include "shared_state.h"
#include "snapshotter.h"

extern "C" {
#include "utils/timestamp.h"
}

namespace eventstore::worker {
namespace {

/*
 * A step of the round that must not hold the projections up: its errors are
 * reported, shown in worker_status, and back off this step only, on its own
 * schedule.  Plain data.
 */
struct SideStep {
    const char *label;
    long (*run)(); /* returns how long the job may sleep: 0 more is due at once, -1 nothing is */
    long delay_ms;
    TimestampTz retry_at;
};

long snapshots_when_due()
{
    return take_due_snapshots() ? 0 : -1;
}

SideStep snapshots_step = {"snapshots", snapshots_when_due, 0, 0};
SideStep periods_step = {"periods", keep_periods, 0, 0};
SideStep anchoring_step = {"anchoring", keep_anchors, 0, 0};

/* Runs the step unless it is backing off; an error backs it off, never the round. Returns its sleep. */
long run_side_step(SideStep &step)
{
    if (step.delay_ms > 0 && GetCurrentTimestamp() < step.retry_at)
        return -1;
    MemoryContext caller = CurrentMemoryContext;
    volatile long sleep_ms = -1;
    PG_TRY();
    {
        sleep_ms = step.run();
        step.delay_ms = 0;
    }
    PG_CATCH();
    {
        ErrorData *error = recover_from_error(caller, true);
        record_job_error(psprintf("%s: %s", step.label, error->message));
        FreeErrorData(error);
        step.delay_ms = next_backoff_ms(step.delay_ms);
        step.retry_at = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), step.delay_ms);
        sleep_ms = -1;
    }
    PG_END_TRY();
    return sleep_ms;
}

/* The shorter of two sleeps, where -1 is "as long as the naptime". */
long shorter_sleep(long a, long b)
{
    if (a < 0)
        return b;
    if (b < 0)
        return a;
    return a < b ? a : b;
}

/*
 * Projections first (readers wait on them), then the aggregate snapshots
 * that are due, the periods, and the Merkle tree and its checkpoints.
 */
JobRound projecting_round()
{
    const ProjectorRound round = project_once(sequenced_position());
    if (round.extension_missing)
        return JobRound{-1L, true};
    long sleep_ms = round.more_to_do ? 0L : -1L;
    sleep_ms = shorter_sleep(sleep_ms, run_side_step(snapshots_step));
    sleep_ms = shorter_sleep(sleep_ms, run_side_step(periods_step));
    sleep_ms = shorter_sleep(sleep_ms, run_side_step(anchoring_step));
    return JobRound{sleep_ms, false};
}

const JobSteps kProjectorSteps = {
    kProjector, "pg_eventstore projector", nullptr, projecting_round, nullptr, nullptr, nullptr, nullptr,
};

}  // namespace
}  // namespace eventstore::worker

extern "C" {

PGDLLEXPORT void eventstore_projector_main(Datum);

void eventstore_projector_main(Datum)
{
    eventstore::worker::run_job(eventstore::worker::kProjectorSteps);
}

}  // extern "C"
