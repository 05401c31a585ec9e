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

#include "shared_state.h"
#include "waiting.h"

#include <cstring>

extern "C" {
#include "commands/dbcommands.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
}

using namespace eventstore::worker;

namespace {

bool position_reached(void *target)
{
    return sequenced_position() >= *static_cast<int64 *>(target);
}

}  // namespace

extern "C" {

PG_FUNCTION_INFO_V1(eventstore_wait_for_position);

Datum eventstore_wait_for_position(PG_FUNCTION_ARGS)
{
    if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("position and timeout must not be NULL")));
    int64 target = PG_GETARG_INT64(0);
    const TimestampTz deadline = start_wait(target, PG_GETARG_INTERVAL_P(1));
    PG_RETURN_BOOL(wait_until(&worker_shared_state->position_advanced, deadline, position_reached, &target));
}

}  // extern "C"
