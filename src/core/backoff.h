/*
 * backoff.h — how long the worker waits before trying again after a failure.
 *
 * The worker's loop (after a failed round) and the Kafka publisher (after a
 * failed delivery or producer start) back off the same way: 100 ms after the
 * first failure, doubling on each further one, never more than 10 s.  A
 * success resets the wait to 0.
 */
#ifndef EVENTSTORE_CORE_BACKOFF_H
#define EVENTSTORE_CORE_BACKOFF_H

namespace eventstore {

constexpr long kFirstBackoffMs = 100;
constexpr long kMaxBackoffMs = 10000;

/* The wait after one more failure, given the current wait (0: none yet). */
long next_backoff_ms(long current_ms);

}  // namespace eventstore

#endif
