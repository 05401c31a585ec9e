/*
 * status_functions.cpp — the workers' shared memory as SQL rows, behind
 * the eventstore.worker_status and eventstore.outbox_status views.
 *
 *   eventstore_job_status        one row per process of the family (0.2)
 *   eventstore_worker_status     the sequencer's row in 0.1's shape, kept so
 *                                that a database still at 0.1 (and 0.1's
 *                                install script, which a fresh install runs
 *                                before the update) finds its function
 *   eventstore_publisher_status  the Kafka publisher's details
 *   eventstore_projection_progress  what the projector shows of each projection
 *
 * Each copies what it shows under the workers' lock, then builds the row.
 */
#include "pg/pg_includes.h"

#include <cstring>

#include "pg/gucs.h"
#include "pg/status_rows.h"
#include "shared_state.h"

extern "C" {
#include "access/htup_details.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"
}

using namespace eventstore::worker;

namespace {

/* A consistent copy of one slot. */
struct JobCopy {
    JobDescription description;
    int64 loops;
    int64 position;
};

JobCopy copy_job(int kind)
{
    JobCopy copy;
    const JobSlot &slot = worker_shared_state->jobs[kind];
    LWLockAcquire(worker_shared_state->lock, LW_SHARED);
    memcpy(&copy.description, &slot.description, sizeof copy.description);
    LWLockRelease(worker_shared_state->lock);
    copy.loops = (int64)pg_atomic_read_u64(const_cast<pg_atomic_uint64 *>(&slot.loops));
    copy.position = (int64)pg_atomic_read_u64(const_cast<pg_atomic_uint64 *>(&slot.position));
    return copy;
}

void set_timestamp(Datum *values, bool *nulls, int column, TimestampTz value)
{
    values[column] = TimestampTzGetDatum(value);
    nulls[column] = value == 0;
}

void set_text(Datum *values, bool *nulls, int column, const char *value)
{
    values[column] = CStringGetTextDatum(value);
    nulls[column] = value[0] == '\0';
}

}  // namespace

extern "C" {

PG_FUNCTION_INFO_V1(eventstore_job_status);
PG_FUNCTION_INFO_V1(eventstore_worker_status);
PG_FUNCTION_INFO_V1(eventstore_publisher_status);
PG_FUNCTION_INFO_V1(eventstore_projection_progress);

/*
 * eventstore.job_status_rows(): job, pid, state, database, started_at,
 * last_loop_at, loops, position, last_batch_events, last_batch_at,
 * worker_naptime_ms, last_error, last_error_at.
 */
Datum eventstore_job_status(PG_FUNCTION_ARGS)
{
    constexpr int kColumns = 13;
    InitMaterializedSRF(fcinfo, 0);
    ReturnSetInfo *result = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
    for (int kind = 0; kind < kJobKinds; kind++) {
        Datum values[kColumns];
        bool nulls[kColumns];
        memset(nulls, true, sizeof nulls);
        values[0] = CStringGetTextDatum(job_name(kind));
        nulls[0] = false;
        if (worker_shared_state == nullptr) {
            set_text(values, nulls, 2, "not loaded (add pg_eventstore to shared_preload_libraries)");
        } else {
            const JobCopy job = copy_job(kind);
            values[1] = Int32GetDatum(job.description.pid);
            nulls[1] = job.description.pid == 0;
            set_text(values, nulls, 2, job.description.state);
            set_timestamp(values, nulls, 4, job.description.started_at);
            set_timestamp(values, nulls, 5, job.description.last_loop_at);
            values[6] = Int64GetDatum(job.loops);
            nulls[6] = false;
            values[7] = Int64GetDatum(job.position);
            nulls[7] = kind == kLauncher;
            values[8] = Int64GetDatum(job.description.last_batch_events);
            nulls[8] = kind == kLauncher;
            set_timestamp(values, nulls, 9, job.description.last_batch_at);
            values[10] = Int32GetDatum(job.description.naptime_ms);
            nulls[10] = job.description.pid == 0;
            set_text(values, nulls, 11, job.description.last_error);
            set_timestamp(values, nulls, 12, job.description.last_error_at);
        }
        set_text(values, nulls, 3, eventstore::pg::guc_database);
        tuplestore_putvalues(result->setResult, result->setDesc, values, nulls);
    }
    return (Datum)0;
}

/* 0.1's eventstore.worker_status_row(): the sequencer's slot in the old row shape. */
Datum eventstore_worker_status(PG_FUNCTION_ARGS)
{
    constexpr int kColumns = 12;
    TupleDesc desc = eventstore::pg::status_row_descriptor(fcinfo);
    if (worker_shared_state == nullptr)
        PG_RETURN_DATUM(eventstore::pg::not_loaded_status_row(desc, 1));
    const JobCopy job = copy_job(kSequencer);
    Datum values[kColumns];
    bool nulls[kColumns];
    memset(nulls, false, sizeof nulls);
    values[0] = Int32GetDatum(job.description.pid);
    nulls[0] = job.description.pid == 0;
    values[1] = CStringGetTextDatum(job.description.state);
    values[2] = CStringGetTextDatum(eventstore::pg::guc_database);
    set_timestamp(values, nulls, 3, job.description.started_at);
    set_timestamp(values, nulls, 4, job.description.last_loop_at);
    values[5] = Int64GetDatum(job.loops);
    values[6] = Int64GetDatum(job.position);
    values[7] = Int64GetDatum(job.description.last_batch_events);
    set_timestamp(values, nulls, 8, job.description.last_batch_at);
    values[9] = Int32GetDatum(job.description.naptime_ms);
    set_text(values, nulls, 10, job.description.last_error);
    set_timestamp(values, nulls, 11, job.description.last_error_at);
    PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

/* eventstore.publisher_status_row(): the Kafka publisher's details. */
Datum eventstore_publisher_status(PG_FUNCTION_ARGS)
{
    constexpr int kColumns = 7;
    TupleDesc desc = eventstore::pg::status_row_descriptor(fcinfo);
    if (worker_shared_state == nullptr)
        PG_RETURN_DATUM(eventstore::pg::not_loaded_status_row(desc, 0));

    PublisherDetails copy;
    LWLockAcquire(worker_shared_state->lock, LW_SHARED);
    memcpy(&copy, &worker_shared_state->publisher, sizeof copy);
    LWLockRelease(worker_shared_state->lock);

    Datum values[kColumns];
    bool nulls[kColumns];
    memset(nulls, false, sizeof nulls);
    values[0] = CStringGetTextDatum(copy.state);
    values[1] = Int64GetDatum(copy.in_flight);
    values[2] = Int64GetDatum(copy.acknowledged_total);
    values[3] = Float8GetDatum(copy.messages_per_second);
    set_timestamp(values, nulls, 4, copy.last_acknowledged_at);
    set_text(values, nulls, 5, copy.last_error);
    set_timestamp(values, nulls, 6, copy.last_error_at);
    PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

/* eventstore.projection_progress_rows(): name, position, applied_total, events_per_second. */
Datum eventstore_projection_progress(PG_FUNCTION_ARGS)
{
    constexpr int kColumns = 4;
    InitMaterializedSRF(fcinfo, 0);
    if (worker_shared_state == nullptr)
        return (Datum)0;
    ReturnSetInfo *result = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
    ProjectionSlot copy[kMaxProjections];
    LWLockAcquire(worker_shared_state->lock, LW_SHARED);
    memcpy(copy, worker_shared_state->projections, sizeof copy);
    LWLockRelease(worker_shared_state->lock);
    for (const ProjectionSlot &slot : copy) {
        if (slot.name[0] == '\0')
            continue;
        Datum values[kColumns] = {CStringGetTextDatum(slot.name), Int64GetDatum(slot.position),
                                  Int64GetDatum(slot.applied_total), Float8GetDatum(slot.events_per_second)};
        bool nulls[kColumns] = {false, false, false, false};
        tuplestore_putvalues(result->setResult, result->setDesc, values, nulls);
    }
    return (Datum)0;
}

}  // extern "C"
