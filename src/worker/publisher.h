/*
 * publisher.h — the worker job that publishes the sequenced log and the
 * outbox to Kafka.  See publisher.cpp for the protocol.
 */
#ifndef EVENTSTORE_WORKER_PUBLISHER_H
#define EVENTSTORE_WORKER_PUBLISHER_H

#include "pg/pg_includes.h"

namespace eventstore::worker {

/*
 * One round: collect Kafka's delivery reports, record what settled and read
 * the next messages in one short transaction, then hand them to the
 * producer.  Runs outside any transaction and never waits on Kafka.
 * sequenced_position: the highest position the sequencer has committed
 * (events beyond what was sent are read only when there are some).
 * Returns the longest the worker may sleep before the next round, in ms
 * (-1: no limit of its own).
 */
long run_publisher_round(int64 sequenced_position);

/* Readable when Kafka has delivery reports for the next round; -1 when no producer. */
int publisher_wakeup_fd();

/*
 * Clean shutdown: waits briefly for outstanding acknowledgements and records
 * them (a transaction; may ereport), then destroys the producer.  A changed
 * broker list or kafka_config needs no call: each round compares them.
 */
void stop_publisher();

}  // namespace eventstore::worker

#endif
