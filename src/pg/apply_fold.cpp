/*
 * apply_fold.cpp — eventstore.apply_fold(fold, state, events): folds an
 * aggregate's events into its state (docs/aggregates.md).
 *
 * load_state and the worker's snapshots both fold through here: the fold is
 * looked up once and called once per event in array order, with no SQL
 * statement per event.  It runs as the caller (load_state: the reader who
 * asked; snapshots: the role that registered the aggregate), so the caller
 * must be allowed to execute the fold, as a SQL call would check.
 *
 * Memory: each call's result is copied out of a per-event context, and the
 * two states alive at a time (the one passed in, the one returned) live in
 * two contexts used in turn, so folding 10,000 events with a large state
 * takes the size of two states, not 10,000.
 */
#include "pg_includes.h"

extern "C" {
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
}

extern "C" {

PG_FUNCTION_INFO_V1(eventstore_apply_fold);

Datum eventstore_apply_fold(PG_FUNCTION_ARGS)
{
    if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("fold and state must not be NULL")));
    const Oid fold = PG_GETARG_OID(0);
    Datum state = PG_GETARG_DATUM(1);
    if (PG_ARGISNULL(2))
        PG_RETURN_DATUM(state);
    if (pg_proc_aclcheck(fold, GetUserId(), ACL_EXECUTE) != ACLCHECK_OK)
        ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                        errmsg("permission denied for fold %s", format_procedure(fold))));

    ArrayType *array = PG_GETARG_ARRAYTYPE_P(2);
    int16 length;
    bool by_value;
    char alignment;
    get_typlenbyvalalign(ARR_ELEMTYPE(array), &length, &by_value, &alignment);
    Datum *events;
    bool *nulls;
    int count;
    deconstruct_array(array, ARR_ELEMTYPE(array), length, by_value, alignment, &events, &nulls, &count);

    FmgrInfo call;
    fmgr_info(fold, &call);
    MemoryContext caller = CurrentMemoryContext;
    MemoryContext per_event = AllocSetContextCreate(caller, "pg_eventstore fold call", ALLOCSET_DEFAULT_SIZES);
    MemoryContext states[2] = {AllocSetContextCreate(caller, "pg_eventstore fold state", ALLOCSET_DEFAULT_SIZES),
                               AllocSetContextCreate(caller, "pg_eventstore fold state", ALLOCSET_DEFAULT_SIZES)};
    for (int i = 0; i < count; i++) {
        if (nulls[i])
            ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("event %d of the fold is NULL", i + 1)));
        MemoryContextSwitchTo(per_event);
        LOCAL_FCINFO(fcinfo_call, 2);
        InitFunctionCallInfoData(*fcinfo_call, &call, 2, InvalidOid, nullptr, nullptr);
        fcinfo_call->args[0].value = state;
        fcinfo_call->args[0].isnull = false;
        fcinfo_call->args[1].value = events[i];
        fcinfo_call->args[1].isnull = false;
        Datum result = FunctionCallInvoke(fcinfo_call);
        if (fcinfo_call->isnull)
            ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                            errmsg("fold %s returned NULL for event %d of the fold", format_procedure(fold), i + 1),
                            errhint("A fold returns the new state as a jsonb value, never NULL.")));
        MemoryContext keep = states[i % 2];
        MemoryContextReset(keep);
        MemoryContextSwitchTo(keep);
        state = datumCopy(result, false, -1);
        MemoryContextReset(per_event);
    }
    MemoryContextSwitchTo(caller);
    PG_RETURN_DATUM(datumCopy(state, false, -1));
}

}  // extern "C"
