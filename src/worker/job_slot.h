/*
 * job_slot.h — how a process of the worker family shows itself in its slot
 * of shared memory (see shared_state.h): attach at start, state changes,
 * errors, batches, loops, detach at exit.  Used by the launcher and by every
 * job; each process writes only its own slot.
 */
#ifndef EVENTSTORE_WORKER_JOB_SLOT_H
#define EVENTSTORE_WORKER_JOB_SLOT_H

#include "pg/pg_includes.h"

namespace eventstore::worker {

/*
 * Claims the slot of `kind` for this process and publishes its latch.
 * Returns false, claiming nothing, when another live process holds the
 * slot (a duplicate start): the caller then exits quietly.
 */
bool attach_job_slot(int kind);

/* The kind this process attached as. */
int my_job_kind();

void set_job_state(const char *state);

/* Keeps "<job>: <message>" as the slot's last error. */
void record_job_error(const char *message);

/* A round that handled `events` (> 0): shown as the last batch. */
void record_job_batch(int64 events);

/* Shows the configuration this process uses now (after its start and each reload). */
void record_job_configuration();

/* Counts a loop iteration and its time. */
void record_job_loop();

}  // namespace eventstore::worker

#endif
