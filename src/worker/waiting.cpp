/*
 * waiting.cpp — the shared half of the wait functions (see the header).
 */
#include "waiting.h"

#include <cstring>

#include "pg/gucs.h"
#include "shared_state.h"

extern "C" {
#include "commands/dbcommands.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/builtins.h"
}

namespace eventstore::worker {

TimestampTz start_wait(int64 position, Interval *timeout)
{
    if (position < 0)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("position must be 0 or more, got %lld", (long long)position)));
    if (timeout->month != 0 || timeout->day != 0 || timeout->time < 0)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("timeout must be a non-negative interval of hours, minutes or seconds, got %s",
                               DatumGetCString(DirectFunctionCall1(interval_out, IntervalPGetDatum(timeout))))));
    if (worker_shared_state == nullptr)
        ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                        errmsg("the pg_eventstore worker is not running"),
                        errhint("Add pg_eventstore to shared_preload_libraries and restart the server.")));
    /* The worker serves one database; nothing it does moves anything in another. */
    const char *database = get_database_name(MyDatabaseId);
    if (database == nullptr || strcmp(database, pg::guc_database) != 0)
        ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                        errmsg("the pg_eventstore worker sequences database \"%s\", not \"%s\"", pg::guc_database,
                               database ? database : "?"),
                        errhint("Set pg_eventstore.database to the database that holds the event store.")));
    return TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout->time / 1000);
}

bool wait_until(ConditionVariable *advanced, TimestampTz deadline, bool (*reached)(void *), void *argument)
{
    if (reached(argument))
        return true;
    bool done = false;
    ConditionVariablePrepareToSleep(advanced);
    for (;;) {
        done = reached(argument);
        if (done)
            break;
        const long remaining_ms = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);
        if (remaining_ms <= 0)
            break;
        /* Wakes on the worker's broadcast, on timeout, or every 100 ms as a safety net. */
        ConditionVariableTimedSleep(advanced, Min(remaining_ms, 100L), PG_WAIT_EXTENSION);
    }
    ConditionVariableCancelSleep();
    return done;
}

}  // namespace eventstore::worker
