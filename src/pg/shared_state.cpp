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
        SpinLockInit(&worker_shared_state->mutex);
        ConditionVariableInit(&worker_shared_state->position_advanced);
        strlcpy(worker_shared_state->state, "not started", sizeof worker_shared_state->state);
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
    SpinLockAcquire(&worker_shared_state->mutex);
    worker_shared_state->commit_wakeups++;
    Latch *latch = worker_shared_state->latch;
    SpinLockRelease(&worker_shared_state->mutex);
    if (latch != nullptr)
        SetLatch(latch);
}

}  // namespace eventstore::pg
