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
 * Counts the next stretch of the log into the period books and, at most
 * once a second, runs the period clock.  Returns true when more of the log
 * waits to be counted.  Runs its own short transactions; call outside any.
 */
bool keep_periods();

}  // namespace eventstore::worker

#endif
