/*
 * projector_job.cpp — the projector's process: projections are applied in
 * a process of their own, so a slow or failing handler never delays
 * sequencing or Kafka.  Woken by the sequencer after each of its rounds
 * (which also follow the commits that create or resume a projection); the
 * naptime is the safety net.  While some projection is behind, it goes
 * round again at once; each round gives every projection one batch.
 */
#include "pg/pg_includes.h"

#include "job_loop.h"
#include "projector.h"
#include "shared_state.h"

namespace eventstore::worker {
namespace {

JobRound projecting_round()
{
    const ProjectorRound round = project_once(sequenced_position());
    return JobRound{round.more_to_do ? 0L : -1L, round.extension_missing};
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
