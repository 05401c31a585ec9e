/*
 * period_keeper.h — the worker's part in accounting periods
 * (docs/periods.md): the period clock and the books.
 *
 * Runs in the projector's process, after the projections and snapshots of
 * each round.  The books are a read model of the sequenced log, counted in
 * global order exactly once (eventstore.count_period_books); the clock moves
 * periods to soft_closed and closed when their time comes
 * (eventstore.run_period_clock), one category per transaction so that a
 * transaction appending to several categories never waits on the clock
 * while the clock waits on it.
 */
#ifndef EVENTSTORE_WORKER_PERIOD_KEEPER_H
#define EVENTSTORE_WORKER_PERIOD_KEEPER_H

#include "pg/pg_includes.h"

namespace eventstore::worker {

/*
 * Counts the next stretch of the log into the period books (at most every
 * 100 ms unless more waits) and, at most once a second, runs the period
 * clock.  Returns how long the job may sleep: 0 when more of the log waits
 * to be counted, the rest of the interval when the books wait for it, -1
 * when nothing does.  Runs its own short transactions; call outside any.
 */
long keep_periods();

}  // namespace eventstore::worker

#endif
