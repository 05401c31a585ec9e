/*
 * log_guard.cpp — the append-only trigger, and the stamp that restored
 * events get (log_guard.h).
 */
#include "log_guard.h"

#include <cstring>

extern "C" {
#include "access/htup_details.h"
#include "access/xact.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "utils/xid8.h"
}

extern "C" {

PG_FUNCTION_INFO_V1(eventstore_log_guard);

Datum eventstore_log_guard(PG_FUNCTION_ARGS)
{
    if (!CALLED_AS_TRIGGER(fcinfo))
        ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                        errmsg("eventstore.log_guard() must be called as a trigger")));
    TriggerData *trigger = (TriggerData *)fcinfo->context;
    const char *operation = TRIGGER_FIRED_BY_UPDATE(trigger->tg_event)     ? "UPDATE"
                            : TRIGGER_FIRED_BY_DELETE(trigger->tg_event)   ? "DELETE"
                            : TRIGGER_FIRED_BY_TRUNCATE(trigger->tg_event) ? "TRUNCATE"
                                                                           : "INSERT";
    ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                    errmsg("%s on %s is not allowed: the event log is append-only", operation,
                           RelationGetRelationName(trigger->tg_relation)),
                    strcmp(RelationGetRelationName(trigger->tg_relation), "checkpoints") == 0
                        ? errhint("Checkpoints are written by the worker only (docs/tamper-evidence.md).")
                        : errhint("Append corrections as new events with eventstore.append().")));
    pg_unreachable();
}

PG_FUNCTION_INFO_V1(eventstore_stamp_restored_event);

/*
 * Row trigger BEFORE INSERT on eventstore.events.  Appends do not fire it
 * (log_writer.h).  Any insert that does is a restore (pg_restore's COPY of
 * the extension's data, run by a superuser or the owner): its rows carry
 * transaction ids of the cluster they were dumped from, meaningless here,
 * so each row gets the inserting transaction's id.
 * The sequencer then orders restored events that had no position yet like
 * any other append.
 */
Datum eventstore_stamp_restored_event(PG_FUNCTION_ARGS)
{
    if (!CALLED_AS_TRIGGER(fcinfo))
        ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                        errmsg("eventstore.stamp_restored_event() must be called as a trigger")));
    TriggerData *trigger = (TriggerData *)fcinfo->context;
    HeapTuple row = trigger->tg_trigtuple;

    TupleDesc desc = trigger->tg_relation->rd_att;
    int xid_column = SPI_fnumber(desc, "xid");
    if (xid_column <= 0)
        ereport(ERROR, (errmsg("eventstore.events has no xid column")));
    Datum value = FullTransactionIdGetDatum(GetTopFullTransactionId());
    bool is_null = false;
    return PointerGetDatum(heap_modify_tuple_by_cols(row, desc, 1, &xid_column, &value, &is_null));
}

}  // extern "C"
