/*
 * commit_doorbell.cpp — the shared counter and latch behind
 * wake_worker_at_commit() (see the header).
 */
#include "commit_doorbell.h"

#include "shared_memory.h"

extern "C" {
#include "access/xact.h"
#include "port/atomics.h"
}

namespace eventstore::pg {
namespace {

struct CommitDoorbell {
    pg_atomic_uint64 rings;
    /*
     * Written by the sequencer, read without a lock by committing appenders:
     * an aligned pointer is read whole, and a stale value costs at most one
     * wakeup that the sequencer's naptime covers.
     */
    Latch *volatile latch;
};

CommitDoorbell *doorbell = nullptr;

void init_doorbell(void *memory, LWLockPadded *)
{
    pg_atomic_init_u64(&static_cast<CommitDoorbell *>(memory)->rings, 0);
}

void ring()
{
    if (doorbell == nullptr)
        return;
    pg_atomic_fetch_add_u64(&doorbell->rings, 1);
    Latch *latch = doorbell->latch;
    if (latch != nullptr)
        SetLatch(latch);
}

bool callback_registered = false;
bool ring_pending = false;

void on_transaction_end(XactEvent event, void *)
{
    switch (event) {
    case XACT_EVENT_COMMIT:
    case XACT_EVENT_PARALLEL_COMMIT:
        if (ring_pending)
            ring();
        ring_pending = false;
        break;
    case XACT_EVENT_ABORT:
    case XACT_EVENT_PARALLEL_ABORT:
    case XACT_EVENT_PREPARE:
        /* A prepared transaction commits later elsewhere; the sequencer's naptime picks it up. */
        ring_pending = false;
        break;
    default:
        break;
    }
}

}  // namespace

void register_commit_doorbell()
{
    register_shared_struct("pg_eventstore commit doorbell", sizeof(CommitDoorbell), 0, init_doorbell,
                           reinterpret_cast<void **>(&doorbell));
}

void wake_worker_at_commit()
{
    if (!callback_registered) {
        RegisterXactCallback(on_transaction_end, nullptr);
        callback_registered = true;
    }
    ring_pending = true;
}

bool this_transaction_appended()
{
    return ring_pending;
}

uint64 doorbell_rings()
{
    return doorbell == nullptr ? 0 : pg_atomic_read_u64(&doorbell->rings);
}

void set_doorbell_latch(Latch *latch)
{
    if (doorbell != nullptr)
        doorbell->latch = latch;
}

}  // namespace eventstore::pg

extern "C" {

PG_FUNCTION_INFO_V1(eventstore_wake_worker_at_commit);

/* SQL: eventstore.wake_worker_at_commit(), used by publish() and redrive. */
Datum eventstore_wake_worker_at_commit(PG_FUNCTION_ARGS)
{
    (void)fcinfo;
    eventstore::pg::wake_worker_at_commit();
    PG_RETURN_VOID();
}

}  // extern "C"
