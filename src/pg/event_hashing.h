/*
 * event_hashing.h — bridge from PostgreSQL values to the core hash chain.
 *
 * The append path and the SQL function eventstore.event_hash() (which the
 * verifiers use) both go through hash_event(), so an event is always hashed
 * from exactly the same bytes whether it is being written or checked.
 */
#ifndef EVENTSTORE_PG_EVENT_HASHING_H
#define EVENTSTORE_PG_EVENT_HASHING_H

#include "pg_includes.h"

extern "C" {
#include "utils/jsonb.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"
}

namespace eventstore::pg {

constexpr int kHashBytes = 32;

/* Plain data: every pointer is palloc'd or points into a detoasted datum. */
struct EventHashInput {
    const char *stream_id;
    int stream_id_length;
    int64 stream_version;
    const pg_uuid_t *event_id;
    const char *event_type;
    int event_type_length;
    int32 schema_version;
    TimestampTz event_time;
    const char *data_text; /* jsonb text form */
    const char *metadata_text; /* NULL when metadata is SQL NULL */
};

/* jsonb's canonical text form, as jsonb_out prints it (palloc'd). */
char *jsonb_text(Jsonb *value);

/* out = SHA-256(canonical(input) || previous); previous is 32 bytes. */
void hash_event(const EventHashInput *input, const uint8 *previous, uint8 *out);

/* out = ledger hash of an event at global_position (see core/ledger.h). */
void hash_ledger_entry(const uint8 *previous_ledger, const uint8 *event_hash, int64 global_position, uint8 *out);

/* Copies a bytea that must hold exactly 32 bytes; raises 22023 naming what otherwise. */
void hash_from_bytea(bytea *value, const char *what, uint8 *out);

/* A bytea holding a 32-byte hash. */
bytea *hash_to_bytea(const uint8 *hash);

}  // namespace eventstore::pg

#endif
