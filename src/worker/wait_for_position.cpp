/*
 * wait_for_position.cpp — eventstore.wait_for_position(position, timeout):
 * read-your-writes for callers and tests.
 *
 * Sleeps on a condition variable the worker broadcasts after each sequencer
 * commit, so waiters wake as soon as their position is sequenced, without
 * polling the tables.  Returns true once the position is sequenced, false
 * when the timeout passes first.
 */
#include "pg/pg_includes.h"

#include "pg/gucs.h"
#include "shared_state.h"

#include <cstring>

extern "C" {
#include "commands/dbcommands.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
}

using eventstore::worker::sequenced_position;
using eventstore::worker::worker_shared_state;

extern "C" {

PG_FUNCTION_INFO_V1(eventstore_wait_for_position);

Datum eventstore_wait_for_position(PG_FUNCTION_ARGS)
{
    if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("position and timeout must not be NULL")));
    const int64 target = PG_GETARG_INT64(0);
    Interval *timeout = PG_GETARG_INTERVAL_P(1);
    if (target < 0)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("position must be 0 or more, got %lld", (long long)target)));
    if (timeout->month != 0 || timeout->day != 0 || timeout->time < 0)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("timeout must be a non-negative interval of hours, minutes or seconds, got %s",
                               DatumGetCString(DirectFunctionCall1(interval_out, IntervalPGetDatum(timeout))))));
    if (worker_shared_state == nullptr)
        ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                        errmsg("the pg_eventstore worker is not running"),
                        errhint("Add pg_eventstore to shared_preload_libraries and restart the server.")));
    /* The worker sequences one database; its position says nothing about this one's log. */
    const char *database = get_database_name(MyDatabaseId);
    if (database == nullptr || strcmp(database, eventstore::pg::guc_database) != 0)
        ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                        errmsg("the pg_eventstore worker sequences database \"%s\", not \"%s\"",
                               eventstore::pg::guc_database, database ? database : "?"),
                        errhint("Set pg_eventstore.database to the database that holds the event store.")));

    const TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout->time / 1000);
    bool reached = sequenced_position() >= target;
    if (!reached) {
        ConditionVariablePrepareToSleep(&worker_shared_state->position_advanced);
        for (;;) {
            reached = sequenced_position() >= target;
            if (reached)
                break;
            const long remaining_ms = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);
            if (remaining_ms <= 0)
                break;
            /* Wakes on broadcast, on timeout, or every 100 ms as a safety net. */
            ConditionVariableTimedSleep(&worker_shared_state->position_advanced, Min(remaining_ms, 100L),
                                        PG_WAIT_EXTENSION);
        }
        ConditionVariableCancelSleep();
    }
    PG_RETURN_BOOL(reached);
}

}  // extern "C"
