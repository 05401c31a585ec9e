/*
 * shared_state.cpp — the workers' shared memory (see the header).
 */
#include "shared_state.h"

#include <cstring>

#include "pg/shared_memory.h"

namespace eventstore::worker {

WorkerSharedState *worker_shared_state = nullptr;

namespace {

void init_worker_shared_state(void *memory, LWLockPadded *locks)
{
    auto *state = static_cast<WorkerSharedState *>(memory);
    state->lock = &locks[0].lock;
    for (JobSlot &slot : state->jobs) {
        pg_atomic_init_u64(&slot.loops, 0);
        pg_atomic_init_u64(&slot.position, 0);
        strlcpy(slot.description.state, "not started", sizeof slot.description.state);
    }
    ConditionVariableInit(&state->position_advanced);
    ConditionVariableInit(&state->projection_advanced);
    strlcpy(state->publisher.state, "not started", sizeof state->publisher.state);
}

}  // namespace

const char *job_name(int kind)
{
    switch (kind) {
    case kLauncher:
        return "launcher";
    case kSequencer:
        return "sequencer";
    case kPublisher:
        return "publisher";
    case kProjector:
        return "projector";
    default:
        return "unknown";
    }
}

void register_worker_shared_state()
{
    pg::register_shared_struct("pg_eventstore workers", sizeof(WorkerSharedState), 1, init_worker_shared_state,
                               reinterpret_cast<void **>(&worker_shared_state));
}

int64 sequenced_position()
{
    return (int64)pg_atomic_read_u64(&worker_shared_state->jobs[kSequencer].position);
}

void wake_job(int kind)
{
    Latch *latch = worker_shared_state->jobs[kind].latch;
    if (latch != nullptr)
        SetLatch(latch);
}

}  // namespace eventstore::worker
