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
 * A failing fold must not hold the projections up: snapshot errors are
 * caught here, logged and shown in worker_status, and snapshots back off on
 * their own schedule while the projections go on.  (Snapshots are only a
 * shortcut: load_state answers the same without them.)
 */
#include "pg/pg_includes.h"

#include "core/backoff.h"
#include "job_loop.h"
#include "job_slot.h"
#include "job_transaction.h"
#include "projector.h"
#include "shared_state.h"
#include "snapshotter.h"

extern "C" {
#include "utils/timestamp.h"
}

namespace eventstore::worker {
namespace {

/* When snapshots may be tried again after a failure.  Plain data. */
struct SnapshotBackoff {
    long delay_ms = 0;
    TimestampTz retry_at = 0;
};
SnapshotBackoff snapshot_backoff;

/* Takes the due snapshots; an error is reported and backs snapshots off, never the round. */
bool snapshots_guarded()
{
    if (snapshot_backoff.delay_ms > 0 && GetCurrentTimestamp() < snapshot_backoff.retry_at)
        return false;
    MemoryContext caller = CurrentMemoryContext;
    volatile bool more = false;
    PG_TRY();
    {
        more = take_due_snapshots();
        snapshot_backoff.delay_ms = 0;
    }
    PG_CATCH();
    {
        ErrorData *error = recover_from_error(caller, true);
        record_job_error(psprintf("snapshots: %s", error->message));
        FreeErrorData(error);
        snapshot_backoff.delay_ms = next_backoff_ms(snapshot_backoff.delay_ms);
        snapshot_backoff.retry_at = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), snapshot_backoff.delay_ms);
        more = false;
    }
    PG_END_TRY();
    return more;
}

/* Projections first (readers wait on them), then the aggregate snapshots that are due. */
JobRound projecting_round()
{
    const ProjectorRound round = project_once(sequenced_position());
    const bool more_snapshots = !round.extension_missing && snapshots_guarded();
    return JobRound{round.more_to_do || more_snapshots ? 0L : -1L, round.extension_missing};
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
