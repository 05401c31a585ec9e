/*
 * period_guard.h — the late-event rule, decided in the append transaction
 * (docs/periods.md, "The late-event rule").
 *
 * Every append takes its category's period lock in ACCESS SHARE mode until
 * it commits; whatever changes a period's state (the period clock, close,
 * reopen, a new policy) takes it in ACCESS EXCLUSIVE mode.  So a close waits
 * for the appends in flight, and an append that comes after it sees it.  The
 * lock is an object lock that only pg_eventstore's own C code names: no
 * role can take it from SQL, so nobody without grants can hold appends or a
 * close back with it.
 *
 * The rules themselves are cached per backend and reloaded only when a
 * change has committed (a counter in shared memory, moved at commit by the
 * changing transaction before it releases its lock), so an append to a
 * category with a policy costs a lock and a few comparisons, not a query.
 */
#ifndef EVENTSTORE_PG_PERIOD_GUARD_H
#define EVENTSTORE_PG_PERIOD_GUARD_H

#include "pg_includes.h"

#include "core/period_rule.h"

extern "C" {
#include "datatype/timestamp.h"
#include "utils/uuid.h"
}

namespace eventstore::pg {

/* From _PG_init under shared_preload_libraries. */
void register_period_rules_counter();

/*
 * Takes the category's period lock in ACCESS SHARE mode and judges each of
 * `count` event times.  Returns NULL when the category has no policy or no
 * event is late; otherwise an array of `count` verdicts (palloc'd).  Needs
 * an SPI connection.
 */
PeriodVerdict *judge_event_times(text *stream_id, const TimestampTz *event_times, int count);

/*
 * Records the late events among events [0, count) of an append to
 * stream_id whose first version is first_version.
 */
void record_late_events(text *stream_id, int64 first_version, const pg_uuid_t *event_ids,
                        const TimestampTz *event_times, const PeriodVerdict *verdicts, int count);

}  // namespace eventstore::pg

#endif
