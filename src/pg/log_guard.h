/*
 * log_guard.h — keeps the event log append-only.
 *
 * The trigger function eventstore.log_guard() is attached (statement level)
 * to UPDATE, DELETE and TRUNCATE on the log tables.  It refuses every such
 * statement unless this backend is inside one of pg_eventstore's own write
 * sections, which only C code can open: no SQL role, not even the owner or a
 * superuser, can flip that switch.  A superuser can still disable the trigger
 * itself (ALTER TABLE ... DISABLE TRIGGER, session_replication_role); the hash
 * chain and verify_stream()/verify_all() exist to detect exactly that.
 *
 * Inserts other than appends are allowed to the owner because pg_restore
 * must load the extension's data; eventstore.stamp_restored_event() gives
 * such rows a transaction id of this cluster so the sequencer can order them.
 */
#ifndef EVENTSTORE_PG_LOG_GUARD_H
#define EVENTSTORE_PG_LOG_GUARD_H

#include "pg_includes.h"

extern "C" {
#include "executor/spi.h"
}

namespace eventstore::pg {

/*
 * SPI_execute_plan with the log guard opened for the duration of the call.
 * The guard is closed again even if the statement raises an error.
 */
int execute_internal_write(SPIPlanPtr plan, Datum *values, const char *nulls, long row_limit);

}  // namespace eventstore::pg

#endif
