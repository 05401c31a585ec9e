/*
 * waiting.h — what wait_for_position() and wait_for_projection() share:
 * checking a wait's arguments and that this session may wait on the worker
 * at all, and sleeping on the worker's condition variable until a
 * condition holds or the deadline passes (no polling loop).
 */
#ifndef EVENTSTORE_WORKER_WAITING_H
#define EVENTSTORE_WORKER_WAITING_H

#include "pg/pg_includes.h"

extern "C" {
#include "storage/condition_variable.h"
#include "utils/timestamp.h"
}

namespace eventstore::worker {

/*
 * Refuses (22023) a negative position or a timeout that is not a
 * non-negative interval of hours, minutes or seconds, and (55000) a server
 * without the worker or a database it does not serve.  Returns the deadline.
 */
TimestampTz start_wait(int64 position, Interval *timeout);

/* Sleeps on `advanced` until reached(argument) or the deadline; returns reached(argument). */
bool wait_until(ConditionVariable *advanced, TimestampTz deadline, bool (*reached)(void *), void *argument);

}  // namespace eventstore::worker

#endif
