/*
 * commit_wakeup.cpp — the transaction callback behind wake_worker_at_commit().
 */
#include "commit_wakeup.h"

#include "pg_includes.h"
#include "shared_state.h"

extern "C" {
#include "access/xact.h"
}

namespace eventstore::pg {
namespace {

bool callback_registered = false;
bool wake_pending = false;

void on_transaction_end(XactEvent event, void *)
{
    switch (event) {
    case XACT_EVENT_COMMIT:
    case XACT_EVENT_PARALLEL_COMMIT:
        if (wake_pending)
            wake_worker();
        wake_pending = false;
        break;
    case XACT_EVENT_ABORT:
    case XACT_EVENT_PARALLEL_ABORT:
    case XACT_EVENT_PREPARE:
        /* A prepared transaction commits later elsewhere; the worker's timeout picks it up. */
        wake_pending = false;
        break;
    default:
        break;
    }
}

}  // namespace

void wake_worker_at_commit()
{
    if (!callback_registered) {
        RegisterXactCallback(on_transaction_end, nullptr);
        callback_registered = true;
    }
    wake_pending = true;
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
