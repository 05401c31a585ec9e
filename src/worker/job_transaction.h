/*
 * job_transaction.h — the short transaction each worker job runs in.
 *
 * Every job (sequencer, publisher, ...) does its SQL in its own transaction
 * with an SPI connection and a fresh snapshot, and shows what it does in
 * pg_stat_activity.  These two calls are that bracket.
 */
#ifndef EVENTSTORE_WORKER_JOB_TRANSACTION_H
#define EVENTSTORE_WORKER_JOB_TRANSACTION_H

#include "pg/pg_includes.h"

namespace eventstore::worker {

/* Starts the transaction, takes a snapshot, connects SPI. */
void begin_job_transaction(const char *activity);

/* Disconnects SPI and commits. */
void commit_job_transaction();

/*
 * Inside PG_CATCH: recovers the way PostgreSQL's own loops do.  Copies the
 * error into `caller` (the memory context in effect before PG_TRY), reports
 * it to the server log if `report`, aborts the transaction (releasing SPI,
 * locks and buffers), and only then flushes the error state.  Returns the
 * copy (FreeErrorData when done).  Interrupts are held throughout.
 */
struct ErrorData *recover_from_error(MemoryContext caller, bool report);

}  // namespace eventstore::worker

#endif
