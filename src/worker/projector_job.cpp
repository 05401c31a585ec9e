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
    bool (*run)(); /* returns whether more is due at once */
    long delay_ms;
    TimestampTz retry_at;
};
SideStep snapshots_step = {"snapshots", take_due_snapshots, 0, 0};
SideStep periods_step = {"periods", keep_periods, 0, 0};

/* Runs the step unless it is backing off; an error backs it off, never the round. */
bool run_side_step(SideStep &step)
{
    if (step.delay_ms > 0 && GetCurrentTimestamp() < step.retry_at)
        return false;
    MemoryContext caller = CurrentMemoryContext;
    volatile bool more = false;
    PG_TRY();
    {
        more = step.run();
        step.delay_ms = 0;
    }
    PG_CATCH();
    {
        ErrorData *error = recover_from_error(caller, true);
        record_job_error(psprintf("%s: %s", step.label, error->message));
        FreeErrorData(error);
        step.delay_ms = next_backoff_ms(step.delay_ms);
        step.retry_at = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), step.delay_ms);
        more = false;
    }
    PG_END_TRY();
    return more;
}

/* Projections first (readers wait on them), then the aggregate snapshots that are due. */
JobRound projecting_round()
{
    const ProjectorRound round = project_once(sequenced_position());
    const bool more_snapshots = !round.extension_missing && run_side_step(snapshots_step);
    const bool more_periods = !round.extension_missing && run_side_step(periods_step);
    return JobRound{round.more_to_do || more_snapshots || more_periods ? 0L : -1L, round.extension_missing};
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
