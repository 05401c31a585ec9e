/*
 * shared_state.cpp — reserves and attaches the worker's shared memory.
 */
#include "shared_state.h"

#include <cstring>

extern "C" {
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
}

namespace eventstore::pg {

WorkerSharedState *worker_shared_state = nullptr;

namespace {

shmem_request_hook_type previous_shmem_request_hook = nullptr;
shmem_startup_hook_type previous_shmem_startup_hook = nullptr;

void request_shared_memory(void)
{
    if (previous_shmem_request_hook)
        previous_shmem_request_hook();
    RequestAddinShmemSpace(MAXALIGN(sizeof(WorkerSharedState)));
    RequestNamedLWLockTranche("pg_eventstore", 1);
}

void attach_shared_memory(void)
{
    if (previous_shmem_startup_hook)
        previous_shmem_startup_hook();
    LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
    bool found;
    worker_shared_state =
        (WorkerSharedState *)ShmemInitStruct("pg_eventstore worker", sizeof(WorkerSharedState), &found);
    if (!found) {
        memset(worker_shared_state, 0, sizeof(WorkerSharedState));
        worker_shared_state->lock = &(GetNamedLWLockTranche("pg_eventstore"))->lock;
        pg_atomic_init_u64(&worker_shared_state->commit_wakeups, 0);
        pg_atomic_init_u64(&worker_shared_state->sequenced_position, 0);
        pg_atomic_init_u64(&worker_shared_state->loops, 0);
        ConditionVariableInit(&worker_shared_state->position_advanced);
        strlcpy(worker_shared_state->worker.state, "not started", sizeof worker_shared_state->worker.state);
        strlcpy(worker_shared_state->publisher.state, "not started", sizeof worker_shared_state->publisher.state);
    }
    LWLockRelease(AddinShmemInitLock);
}

}  // namespace

void install_shared_state_hooks()
{
    previous_shmem_request_hook = shmem_request_hook;
    shmem_request_hook = request_shared_memory;
    previous_shmem_startup_hook = shmem_startup_hook;
    shmem_startup_hook = attach_shared_memory;
}

void wake_worker()
{
    if (worker_shared_state == nullptr)
        return;
    /* The append path's share of the worker: one atomic add, no lock. */
    pg_atomic_fetch_add_u64(&worker_shared_state->commit_wakeups, 1);
    Latch *latch = worker_shared_state->latch;
    if (latch != nullptr)
        SetLatch(latch);
}

int64 shared_sequenced_position()
{
    return (int64)pg_atomic_read_u64(&worker_shared_state->sequenced_position);
}

}  // namespace eventstore::pg
