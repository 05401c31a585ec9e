/*
 * status_rows.cpp — shared parts of the status-view functions (see the header).
 */
#include "status_rows.h"

extern "C" {
#include "access/htup_details.h"
#include "funcapi.h"
#include "utils/builtins.h"
}

namespace eventstore::pg {

TupleDesc status_row_descriptor(FunctionCallInfo fcinfo)
{
    TupleDesc desc;
    if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE)
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("a status function must return a row")));
    return BlessTupleDesc(desc);
}

Datum not_loaded_status_row(TupleDesc desc, int state_column)
{
    Datum *values = static_cast<Datum *>(palloc0(sizeof(Datum) * desc->natts));
    bool *nulls = static_cast<bool *>(palloc(sizeof(bool) * desc->natts));
    memset(nulls, true, sizeof(bool) * desc->natts);
    values[state_column] = CStringGetTextDatum("not loaded (add pg_eventstore to shared_preload_libraries)");
    nulls[state_column] = false;
    return HeapTupleGetDatum(heap_form_tuple(desc, values, nulls));
}

}  // namespace eventstore::pg
