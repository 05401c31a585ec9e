/*
 * job_transaction.h — the short transaction each worker job runs in.
 *
 * Every job (sequencer, publisher, ...) does its SQL in its own transaction
 * with an SPI connection and a fresh snapshot, and shows what it does in
 * pg_stat_activity.  These two calls are that bracket.
 */
#ifndef EVENTSTORE_WORKER_JOB_TRANSACTION_H
#define EVENTSTORE_WORKER_JOB_TRANSACTION_H

namespace eventstore::worker {

/* Starts the transaction, takes a snapshot, connects SPI. */
void begin_job_transaction(const char *activity);

/* Disconnects SPI and commits. */
void commit_job_transaction();

}  // namespace eventstore::worker

#endif
