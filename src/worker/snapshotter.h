/*
 * snapshotter.h — the worker keeps aggregate snapshots (docs/aggregates.md).
 * Runs in the projector's process, between projection rounds.
 */
#ifndef EVENTSTORE_WORKER_SNAPSHOTTER_H
#define EVENTSTORE_WORKER_SNAPSHOTTER_H

#include "pg/pg_includes.h"

namespace eventstore::worker {

/*
 * Writes the snapshots that are due (every snapshot_every sequenced events
 * of a stream, for the aggregate's current fold), a bounded number of
 * streams per call.  Returns true when more are due.  Runs its own short
 * transactions; call outside any.
 */
bool take_due_snapshots();

}  // namespace eventstore::worker

#endif
