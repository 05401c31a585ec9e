/*
 * log_writer.h — the append path's writes, made the way COPY makes them:
 * table and index access methods called directly, no SQL statement, no
 * plan, no executor per call.
 *
 * Why: as SPI statements, an append spent more time starting and ending
 * executors, walking CTE and unnest nodes and revalidating plans than
 * storing its row (issue 16's profile: +202 us per event over a plain
 * INSERT, of which the statements' machinery was most).
 *
 * The stream head is the lock.  read_stream_head() reads a stream's row in
 * eventstore.streams without locking it; the caller decides everything
 * (idempotency, expected version, late events, the hashes) from that head,
 * then move_stream_head() updates the row.  The update takes the row lock
 * and waits for a concurrent append to the stream; if that append
 * committed, the head the caller decided from is stale: move_stream_head()
 * returns false and the caller starts again from a fresh head (in READ
 * COMMITTED; under REPEATABLE READ or SERIALIZABLE it is a serialization
 * failure, 40001, as for any UPDATE).  Nothing is written before the head
 * moved, so starting again is free, and once it moved this transaction
 * holds the stream until it ends: its events and its insert sequence
 * number follow.  An UPDATE that is the lock also saves the row-lock WAL
 * record a SELECT ... FOR UPDATE wrote.
 *
 * Rows are written with the table's and indexes' own code, so constraints
 * are those of the indexes (the event id's uniqueness, reported by the
 * caller as ES002); CHECK constraints do not run for appends, and the
 * values written are the append path's own.  Insert triggers that the
 * owner put on eventstore.events do run: with one present, the events go
 * in by an INSERT statement instead (a way to react to events people use,
 * and the baseline make bench compares projections with).  Triggers on
 * eventstore.streams do not run.  All of it as plain C: call only where an
 * ERROR may longjmp (errors.h).
 */
#ifndef EVENTSTORE_PG_LOG_WRITER_H
#define EVENTSTORE_PG_LOG_WRITER_H

#include "pg_includes.h"

#include "event_hashing.h"

extern "C" {
#include "storage/itemptr.h"
#include "utils/jsonb.h"
#include "utils/uuid.h"
}

namespace eventstore::pg {

struct StreamHead {
    bool exists;
    ItemPointerData row; /* the version of the row this head was read from */
    int64 version;
    uint8 hash[kHashBytes];
};

/* One event as the log stores it (the append path's plain data). */
struct EventRow {
    int64 stream_version;
    const pg_uuid_t *event_id;
    text *event_type;
    int32 schema_version;
    Jsonb *data;
    Jsonb *metadata; /* NULL when absent */
    TimestampTz event_time;
    const uint8 *hash;
};

/*
 * Pushes the snapshot an append decides under (pop it with
 * PopActiveSnapshot()): in READ COMMITTED the newest committed state (what
 * moving the head would otherwise wait for), under REPEATABLE READ the
 * transaction's; either way with this transaction's own earlier appends.
 */
void push_head_snapshot();

/* The stream's head under the active snapshot; exists = false for a new stream. */
void read_stream_head(text *stream_id, StreamHead *head);

/*
 * Moves the head read by read_stream_head() to (version, hash).  Returns
 * false when a concurrent append to the stream committed first (read the
 * head again and start over); raises 40001 in that case under REPEATABLE
 * READ or SERIALIZABLE.
 */
bool move_stream_head(text *stream_id, const StreamHead *head, int64 version, const uint8 *hash, TimestampTz now);

/*
 * Inserts the events of one stream, all with the same insert sequence
 * number (taken here, after the head moved), this transaction's id and
 * ingest time `now`.
 */
void insert_event_rows(text *stream_id, const EventRow *events, int count, TimestampTz now);

}  // namespace eventstore::pg

#endif
