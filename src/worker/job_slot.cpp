/*
 * job_slot.cpp — a process's own slot in the workers' shared memory (see the header).
 */
#include "job_slot.h"

#include <csignal>
#include <cstdio>
#include <cstring>

#include "pg/gucs.h"
#include "shared_state.h"

extern "C" {
#include "miscadmin.h"
#include "storage/ipc.h"
}

namespace eventstore::worker {
namespace {

int attached_kind = -1;

JobSlot &my_slot()
{
    return worker_shared_state->jobs[attached_kind];
}

void detach_job_slot(int, Datum)
{
    JobSlot &slot = my_slot();
    slot.latch = nullptr;
    LWLockAcquire(worker_shared_state->lock, LW_EXCLUSIVE);
    slot.description.pid = 0;
    strlcpy(slot.description.state, "stopped", sizeof slot.description.state);
    LWLockRelease(worker_shared_state->lock);
}

}  // namespace

bool attach_job_slot(int kind)
{
    JobSlot &slot = worker_shared_state->jobs[kind];
    const TimestampTz now = GetCurrentTimestamp();
    LWLockAcquire(worker_shared_state->lock, LW_EXCLUSIVE);
    const pid_t holder = slot.description.pid;
    /* kill(pid, 0): does the holder still exist?  A slot is cleared at exit, so a live holder is a duplicate. */
    if (holder != 0 && holder != MyProcPid && kill(holder, 0) == 0) {
        LWLockRelease(worker_shared_state->lock);
        return false;
    }
    memset(&slot.description, 0, sizeof slot.description);
    slot.description.pid = MyProcPid;
    slot.description.started_at = now;
    strlcpy(slot.description.state, "starting", sizeof slot.description.state);
    LWLockRelease(worker_shared_state->lock);
    pg_atomic_write_u64(&slot.loops, 0);
    slot.latch = MyLatch;
    attached_kind = kind;
    before_shmem_exit(detach_job_slot, 0);
    record_job_configuration();
    return true;
}

int my_job_kind()
{
    return attached_kind;
}

void set_job_state(const char *state)
{
    LWLockAcquire(worker_shared_state->lock, LW_EXCLUSIVE);
    strlcpy(my_slot().description.state, state, sizeof my_slot().description.state);
    LWLockRelease(worker_shared_state->lock);
}

void record_job_error(const char *message)
{
    const TimestampTz now = GetCurrentTimestamp();
    LWLockAcquire(worker_shared_state->lock, LW_EXCLUSIVE);
    JobDescription &description = my_slot().description;
    snprintf(description.last_error, sizeof description.last_error, "%s: %s", job_name(attached_kind), message);
    description.last_error_at = now;
    LWLockRelease(worker_shared_state->lock);
}

void record_job_batch(int64 events)
{
    const TimestampTz now = GetCurrentTimestamp();
    LWLockAcquire(worker_shared_state->lock, LW_EXCLUSIVE);
    my_slot().description.last_batch_events = events;
    my_slot().description.last_batch_at = now;
    LWLockRelease(worker_shared_state->lock);
}

void record_job_configuration()
{
    LWLockAcquire(worker_shared_state->lock, LW_EXCLUSIVE);
    my_slot().description.naptime_ms = pg::guc_worker_naptime_ms;
    LWLockRelease(worker_shared_state->lock);
}

void record_job_loop()
{
    pg_atomic_fetch_add_u64(&my_slot().loops, 1);
    const TimestampTz now = GetCurrentTimestamp();
    LWLockAcquire(worker_shared_state->lock, LW_EXCLUSIVE);
    my_slot().description.last_loop_at = now;
    LWLockRelease(worker_shared_state->lock);
}

}  // namespace eventstore::worker
