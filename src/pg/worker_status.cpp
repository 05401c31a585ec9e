/*
 * worker_status.cpp — eventstore.worker_status(): the worker's shared-memory
 * state as one row, behind the eventstore.worker_status view.
 */
#include "pg_includes.h"

#include "gucs.h"
#include "shared_state.h"
#include "status_rows.h"

extern "C" {
#include "access/htup_details.h"
#include "funcapi.h"
#include "utils/builtins.h"
}

using eventstore::pg::worker_shared_state;
using eventstore::pg::WorkerDescription;

extern "C" {

PG_FUNCTION_INFO_V1(eventstore_worker_status);

Datum eventstore_worker_status(PG_FUNCTION_ARGS)
{
    TupleDesc desc = eventstore::pg::status_row_descriptor(fcinfo);
    if (worker_shared_state == nullptr)
        PG_RETURN_DATUM(eventstore::pg::not_loaded_status_row(desc, 1));

    Datum values[12];
    bool nulls[12];
    memset(nulls, 0, sizeof nulls);

    WorkerDescription copy;
    LWLockAcquire(worker_shared_state->lock, LW_SHARED);
    memcpy(&copy, &worker_shared_state->worker, sizeof copy);
    LWLockRelease(worker_shared_state->lock);

    values[0] = Int32GetDatum(copy.pid);
    nulls[0] = copy.pid == 0;
    values[1] = CStringGetTextDatum(copy.state);
    values[2] = CStringGetTextDatum(eventstore::pg::guc_database);
    values[3] = TimestampTzGetDatum(copy.started_at);
    nulls[3] = copy.started_at == 0;
    values[4] = TimestampTzGetDatum(copy.last_loop_at);
    nulls[4] = copy.last_loop_at == 0;
    values[5] = Int64GetDatum((int64)pg_atomic_read_u64(&worker_shared_state->loops));
    values[6] = Int64GetDatum(eventstore::pg::shared_sequenced_position());
    values[7] = Int64GetDatum(copy.last_batch_events);
    values[8] = TimestampTzGetDatum(copy.last_sequenced_at);
    nulls[8] = copy.last_sequenced_at == 0;
    values[9] = Int32GetDatum(copy.worker_naptime_ms);
    values[10] = CStringGetTextDatum(copy.last_error);
    nulls[10] = copy.last_error[0] == '\0';
    values[11] = TimestampTzGetDatum(copy.last_error_at);
    nulls[11] = copy.last_error_at == 0;
    PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

}  // extern "C"
