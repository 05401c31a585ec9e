/*
 * publisher_status.cpp — eventstore.publisher_status_row(): the Kafka
 * publisher's shared-memory state as one row, behind eventstore.outbox_status
 * (which adds the durable figures: published position, pending counts).
 */
#include "pg_includes.h"

#include "shared_state.h"
#include "status_rows.h"

extern "C" {
#include "access/htup_details.h"
#include "funcapi.h"
#include "utils/builtins.h"
}

using eventstore::pg::PublisherSharedState;
using eventstore::pg::worker_shared_state;

extern "C" {

PG_FUNCTION_INFO_V1(eventstore_publisher_status);

Datum eventstore_publisher_status(PG_FUNCTION_ARGS)
{
    constexpr int kColumns = 7;
    TupleDesc desc = eventstore::pg::status_row_descriptor(fcinfo);
    if (worker_shared_state == nullptr)
        PG_RETURN_DATUM(eventstore::pg::not_loaded_status_row(desc, 0));

    Datum values[kColumns];
    bool nulls[kColumns];

    PublisherSharedState copy;
    LWLockAcquire(worker_shared_state->lock, LW_SHARED);
    memcpy(&copy, &worker_shared_state->publisher, sizeof copy);
    LWLockRelease(worker_shared_state->lock);

    memset(nulls, false, sizeof nulls);
    values[0] = CStringGetTextDatum(copy.state);
    values[1] = Int64GetDatum(copy.in_flight);
    values[2] = Int64GetDatum(copy.acknowledged_total);
    values[3] = Float8GetDatum(copy.messages_per_second);
    values[4] = TimestampTzGetDatum(copy.last_acknowledged_at);
    nulls[4] = copy.last_acknowledged_at == 0;
    values[5] = CStringGetTextDatum(copy.last_error);
    nulls[5] = copy.last_error[0] == '\0';
    values[6] = TimestampTzGetDatum(copy.last_error_at);
    nulls[6] = copy.last_error_at == 0;
    PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

}  // extern "C"
