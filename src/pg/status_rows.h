/*
 * status_rows.h — what the functions behind the status views
 * (eventstore.worker_status, eventstore.outbox_status) have in common: the
 * row type they return, and the row they return when pg_eventstore was not
 * loaded through shared_preload_libraries (no shared memory to read).
 */
#ifndef EVENTSTORE_PG_STATUS_ROWS_H
#define EVENTSTORE_PG_STATUS_ROWS_H

#include "pg_includes.h"

extern "C" {
#include "access/tupdesc.h"
}

namespace eventstore::pg {

/* The function's declared row type, blessed for heap_form_tuple. */
TupleDesc status_row_descriptor(FunctionCallInfo fcinfo);

/* A row of NULLs except a "not loaded" explanation in column state_column (0-based). */
Datum not_loaded_status_row(TupleDesc desc, int state_column);

}  // namespace eventstore::pg

#endif
