/*
 * worker_registration.h — registers the background worker from _PG_init.
 */
#ifndef EVENTSTORE_WORKER_REGISTRATION_H
#define EVENTSTORE_WORKER_REGISTRATION_H

namespace eventstore::worker {

/* Seconds the postmaster waits before restarting a crashed worker. */
constexpr int kRestartSeconds = 2;

/* Call only while shared_preload_libraries is being processed. */
void register_worker();

}  // namespace eventstore::worker

#endif
