/*
 * projector_job.cpp — the projector's process: projections are applied in
 * a process of their own, so a slow or failing handler never delays
 * sequencing or Kafka; aggregate snapshots are taken here too, after their
 * events are sequenced, never in the append transaction.  Woken by the sequencer after each of its rounds
 * (which also follow the commits that create or resume a projection); the
 * naptime is the safety net.  While some projection is behind, it goes
 * round again at once; each round gives every projection one batch.
 */
#include "pg/pg_includes.h"

#include "job_loop.h"
#include "projector.h"
#include "shared_state.h"
#include "snapshotter.h"

namespace eventstore::worker {
namespace {

/* Projections first (readers wait on them), then the aggregate snapshots that are due. */
JobRound projecting_round()
{
    const ProjectorRound round = project_once(sequenced_position());
    const bool more_snapshots = !round.extension_missing && take_due_snapshots();
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
