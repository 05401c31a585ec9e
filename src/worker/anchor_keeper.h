/*
 * anchor_keeper.h — the worker's part in tamper evidence
 * (docs/tamper-evidence.md): it extends the log's Merkle tree as positions
 * are assigned and writes a signed checkpoint of its root every
 * pg_eventstore.checkpoint_interval (or checkpoint_interval_events),
 * published through the outbox to pg_eventstore.checkpoint_topic and
 * appended to pg_eventstore.checkpoint_file, where the database's owner
 * cannot rewrite it.
 *
 * Runs in the projector's process, after the projections, snapshots and
 * periods of each round: it reads only what the sequencer has committed,
 * so it never slows sequencing or appends.
 */
#ifndef EVENTSTORE_WORKER_ANCHOR_KEEPER_H
#define EVENTSTORE_WORKER_ANCHOR_KEEPER_H

#include "pg/pg_includes.h"

namespace eventstore::worker {

/*
 * Stores the Merkle blocks that complete (a bounded number per call) and
 * writes a checkpoint when one is due.  Returns how long the job may sleep:
 * 0 when more blocks wait, the time to the next checkpoint otherwise, -1
 * when anchoring is off.  Runs its own short transactions; call outside any.
 */
long keep_anchors();

}  // namespace eventstore::worker

#endif
