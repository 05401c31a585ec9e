/*
 * log_guard.cpp — the append-only trigger and the internal write section.
 */
#include "log_guard.h"

extern "C" {
#include "commands/trigger.h"
}

namespace eventstore::pg {

/* Depth of internal write sections in this backend; only this file changes it. */
static int internal_write_depth = 0;

int execute_internal_write(SPIPlanPtr plan, Datum *values, const char *nulls, long row_limit)
{
    volatile int result = 0;
    internal_write_depth++;
    PG_TRY();
    {
        result = SPI_execute_plan(plan, values, nulls, false, row_limit);
    }
    PG_FINALLY();
    {
        internal_write_depth--;
    }
    PG_END_TRY();
    return result;
}

}  // namespace eventstore::pg

extern "C" {

PG_FUNCTION_INFO_V1(eventstore_log_guard);

Datum eventstore_log_guard(PG_FUNCTION_ARGS)
{
    if (!CALLED_AS_TRIGGER(fcinfo))
        ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                        errmsg("eventstore.log_guard() must be called as a trigger")));
    TriggerData *trigger = (TriggerData *)fcinfo->context;
    if (eventstore::pg::internal_write_depth == 0) {
        const char *operation = TRIGGER_FIRED_BY_UPDATE(trigger->tg_event)   ? "UPDATE"
                                : TRIGGER_FIRED_BY_DELETE(trigger->tg_event) ? "DELETE"
                                : TRIGGER_FIRED_BY_TRUNCATE(trigger->tg_event) ? "TRUNCATE"
                                                                               : "INSERT";
        ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                        errmsg("%s on %s is not allowed: the event log is append-only", operation,
                               RelationGetRelationName(trigger->tg_relation)),
                        errhint("Append corrections as new events with eventstore.append().")));
    }
    return PointerGetDatum(nullptr);
}

}  // extern "C"
