/*
 * commit_wakeup.h — wakes the background worker when an append commits.
 *
 * The append path marks the transaction; a transaction callback sets the
 * worker's latch at commit.  This replaces NOTIFY, which takes a database-wide
 * lock at commit and would serialize every writer.
 */
#ifndef EVENTSTORE_PG_COMMIT_WAKEUP_H
#define EVENTSTORE_PG_COMMIT_WAKEUP_H

namespace eventstore::pg {

/* Called by the append path: set the worker's latch if this transaction commits. */
void wake_worker_at_commit();

}  // namespace eventstore::pg

#endif
