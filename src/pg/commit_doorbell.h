/*
 * commit_doorbell.h — how a committing append wakes the sequencer.
 *
 * The append path marks its transaction; a transaction callback rings the
 * doorbell at commit: one atomic increment and a SetLatch on the latch the
 * sequencer registered.  No lock is taken on the append path.  This
 * replaces NOTIFY, which takes a database-wide lock at commit and would
 * serialize every writer.  The sequencer compares the ring count with what
 * it saw at its last round to know whether anything committed since.
 */
#ifndef EVENTSTORE_PG_COMMIT_DOORBELL_H
#define EVENTSTORE_PG_COMMIT_DOORBELL_H

#include "pg_includes.h"

extern "C" {
#include "storage/latch.h"
}

namespace eventstore::pg {

/* From _PG_init under shared_preload_libraries. */
void register_commit_doorbell();

/* Called by the append path (and publish/redrive): ring the doorbell if this transaction commits. */
void wake_worker_at_commit();

/* Whether this transaction appended (or enqueued) something that will ring the doorbell at commit. */
bool this_transaction_appended();

/* Times the doorbell rang since the server started; 0 without shared memory. */
uint64 doorbell_rings();

/* The sequencer's latch, rung at each commit; NULL to stop. */
void set_doorbell_latch(Latch *latch);

}  // namespace eventstore::pg

#endif
