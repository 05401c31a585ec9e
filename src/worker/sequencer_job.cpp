/*
 * sequencer_job.cpp — the sequencer's process: when to run a sequencing
 * round, and whom to tell about its progress.  The round itself (which
 * events, in what order) is sequencer.cpp.
 *
 * Committing appenders ring the commit doorbell (src/pg/commit_doorbell),
 * which sets this process's latch.  A round costs a transaction and, when
 * it sequences something, a WAL flush, so it runs only when the doorbell
 * rang since the last round began, when the naptime passed without a ring
 * (a prepared transaction committed elsewhere, rows restored by pg_restore),
 * and after a failed round.  After each round it publishes the new position
 * (wait_for_position waiters wake on it) and wakes the publisher (which
 * also serves the outbox that commits fill) and the projector (which also
 * picks up projections created or resumed by the commits).
 */
#include "pg/pg_includes.h"

#include "job_loop.h"
#include "job_slot.h"
#include "job_transaction.h"
#include "pg/commit_doorbell.h"
#include "sequencer.h"
#include "shared_state.h"

extern "C" {
#include "commands/extension.h"
#include "miscadmin.h"
#include "utils/timestamp.h"
}

namespace eventstore::worker {
namespace {

/* When the next round is due.  Plain data: survives an ERROR in a round. */
struct SequencerSchedule {
    bool due = true;         /* run at the next loop whatever the doorbell says */
    uint64 rings_seen = 0;   /* doorbell rings when the last finished round began */
    TimestampTz last_round_end = 0;
};
SequencerSchedule schedule;

/*
 * Rounds start at most once per gathering window.  A round costs a
 * transaction and a WAL flush whatever its size; at one appending client a
 * round used to run for every 1.8 events and cost the worker more CPU than
 * the appender spent.  Under load, a round that would start less than the
 * window after the previous one ended first waits out the rest of it, so it
 * takes every commit of that millisecond at once.  When appends are
 * sparse the previous round is long past and a commit is sequenced at once.
 */
constexpr long kGatheringWindowUs = 1000;

void gather_commits()
{
    const TimestampTz now = GetCurrentTimestamp();
    const long since_last_round_us = (long)(now - schedule.last_round_end);
    if (since_last_round_us >= 0 && since_last_round_us < kGatheringWindowUs)
        pg_usleep(kGatheringWindowUs - since_last_round_us);
}

void listen_to_doorbell()
{
    pg::set_doorbell_latch(MyLatch);
}

JobRound sequencing_round()
{
    /* Read before the round's snapshot: a commit counted later rings again. */
    if (!schedule.due && pg::doorbell_rings() == schedule.rings_seen)
        return JobRound{-1, false};
    schedule.due = true; /* until this round finishes */
    gather_commits();
    const uint64 rings = pg::doorbell_rings();

    begin_job_transaction("pg_eventstore: sequencing");
    const bool installed = OidIsValid(get_extension_oid("pg_eventstore", true));
    SequencerRound round = {0, 0};
    if (installed)
        round = sequence_committed_events();
    commit_job_transaction();

    schedule.rings_seen = rings;
    schedule.due = false;
    schedule.last_round_end = GetCurrentTimestamp();
    if (!installed)
        return JobRound{-1, true};

    pg_atomic_write_u64(&worker_shared_state->jobs[kSequencer].position, (uint64)round.last_position);
    if (round.events > 0) {
        record_job_batch(round.events);
        ConditionVariableBroadcast(&worker_shared_state->position_advanced);
    }
    wake_job(kPublisher);
    wake_job(kProjector);
    return JobRound{-1, false};
}

void look_again() { schedule.due = true; }

void after_failed_round(const char *) { schedule.due = true; }

void stop_listening() { pg::set_doorbell_latch(nullptr); }

const JobSteps kSequencerSteps = {
    kSequencer,
    "pg_eventstore sequencer",
    listen_to_doorbell,
    sequencing_round,
    after_failed_round,
    look_again,
    nullptr,
    stop_listening,
};

}  // namespace
}  // namespace eventstore::worker

extern "C" {

PGDLLEXPORT void eventstore_sequencer_main(Datum);

void eventstore_sequencer_main(Datum)
{
    eventstore::worker::run_job(eventstore::worker::kSequencerSteps);
}

}  // extern "C"
