/*
 * wait_for_projection.cpp — eventstore.wait_for_projection(name, position,
 * timeout): read-your-writes for a read model.
 *
 * Sleeps on the condition variable the projector broadcasts after each
 * projection commit, and at each wakeup reads the projection's committed
 * position from eventstore.projections with a fresh snapshot (one index
 * lookup), so waiters wake as soon as their position is applied, without a
 * polling loop.  Waiting for a position that the caller's own transaction
 * appended and has not committed could only time out: that is an error
 * instead.
 */
#include "pg/pg_includes.h"

#include "pg/commit_doorbell.h"
#include "pg/kept_plan.h"
#include "shared_state.h"
#include "waiting.h"

extern "C" {
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
}

using namespace eventstore::worker;

namespace {

eventstore::pg::KeptPlan stored_position_statement = {
    "SELECT \"position\" FROM eventstore.projections WHERE name = $1", 1, {TEXTOID}};

/* The stored position, or -1 when there is no such projection. */
int64 stored_position(text *name)
{
    if (SPI_connect() != SPI_OK_CONNECT)
        ereport(ERROR, (errmsg("pg_eventstore: SPI_connect failed")));
    Datum args[1] = {PointerGetDatum(name)};
    eventstore::pg::run_kept_plan(stored_position_statement, args, nullptr, false, 0, SPI_OK_SELECT);
    int64 position = -1;
    if (SPI_processed == 1) {
        bool isnull;
        position = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
    }
    SPI_finish();
    return position;
}

struct ProjectionWait {
    text *name;
    int64 target;
};

bool projection_reached(void *argument)
{
    const ProjectionWait *wait = static_cast<const ProjectionWait *>(argument);
    return stored_position(wait->name) >= wait->target;
}

}  // namespace

extern "C" {

PG_FUNCTION_INFO_V1(eventstore_wait_for_projection);

Datum eventstore_wait_for_projection(PG_FUNCTION_ARGS)
{
    if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("name, position and timeout must not be NULL")));
    text *name = PG_GETARG_TEXT_PP(0);
    const char *name_text = text_to_cstring(name);
    const int64 target = PG_GETARG_INT64(1);
    const TimestampTz deadline = start_wait(target, PG_GETARG_INTERVAL_P(2));
    if (stored_position(name) < 0)
        ereport(ERROR, (errcode(ERRCODE_UNDEFINED_OBJECT), errmsg("projection \"%s\" does not exist", name_text)));
    if (target > sequenced_position() && eventstore::pg::this_transaction_appended())
        ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                        errmsg("position %lld is not sequenced, and this transaction appended events it has not "
                               "committed",
                               (long long)target),
                        errhint("Commit first, then wait: a projection only sees committed events.")));

    ProjectionWait wait = {name, target};
    const bool reached = wait_until(&worker_shared_state->projection_advanced, deadline, projection_reached, &wait);
    PG_RETURN_BOOL(reached);
}

}  // extern "C"
