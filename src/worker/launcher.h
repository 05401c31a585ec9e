/*
 * launcher.h — the process that keeps the worker family running.
 */
#ifndef EVENTSTORE_WORKER_LAUNCHER_H
#define EVENTSTORE_WORKER_LAUNCHER_H

namespace eventstore::worker {

/* Registers the launcher; call only while shared_preload_libraries is being processed. */
void register_launcher();

}  // namespace eventstore::worker

#endif
