/*
 * event_hashing.cpp — hash_event() and the SQL function eventstore.event_hash().
 */
#include "event_hashing.h"

#include <cstring>

#include "core/canonical_event.h"
#include "core/ledger.h"
#include "errors.h"

extern "C" {
#include "datatype/timestamp.h"
#include "utils/builtins.h"
}

namespace eventstore::pg {

char *jsonb_text(Jsonb *value) { return JsonbToCString(nullptr, &value->root, VARSIZE(value)); }

void hash_event(const EventHashInput *input, const uint8 *previous, uint8 *out)
{
    /* PostgreSQL counts microseconds from 2000-01-01; the canonical form from 1970-01-01. */
    const int64 unix_micros =
        input->event_time + (int64)(POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY;
    guarded_call([&] {
        EventFields fields;
        fields.stream_id = std::string_view(input->stream_id, input->stream_id_length);
        fields.stream_version = input->stream_version;
        std::memcpy(fields.event_id.data(), input->event_id->data, UUID_LEN);
        fields.event_type = std::string_view(input->event_type, input->event_type_length);
        fields.schema_version = input->schema_version;
        fields.event_time_unix_micros = unix_micros;
        fields.data_json = input->data_text;
        fields.has_metadata = input->metadata_text != nullptr;
        if (fields.has_metadata)
            fields.metadata_json = input->metadata_text;
        Digest previous_digest;
        std::memcpy(previous_digest.data(), previous, kHashBytes);
        const Digest digest = event_hash(fields, previous_digest);
        std::memcpy(out, digest.data(), kHashBytes);
    });
}

void hash_ledger_entry(const uint8 *previous_ledger, const uint8 *event_hash, int64 global_position, uint8 *out)
{
    guarded_call([&] {
        Digest previous, event;
        std::memcpy(previous.data(), previous_ledger, kHashBytes);
        std::memcpy(event.data(), event_hash, kHashBytes);
        const Digest digest = ledger_hash(previous, event, global_position);
        std::memcpy(out, digest.data(), kHashBytes);
    });
}

void hash_from_bytea(bytea *value, const char *what, uint8 *out)
{
    if (VARSIZE_ANY_EXHDR(value) != kHashBytes)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("%s must be 32 bytes, got %d", what, (int)VARSIZE_ANY_EXHDR(value))));
    std::memcpy(out, VARDATA_ANY(value), kHashBytes);
}

bytea *hash_to_bytea(const uint8 *hash)
{
    bytea *result = (bytea *)palloc(VARHDRSZ + kHashBytes);
    SET_VARSIZE(result, VARHDRSZ + kHashBytes);
    std::memcpy(VARDATA(result), hash, kHashBytes);
    return result;
}

}  // namespace eventstore::pg

using namespace eventstore::pg;

extern "C" {

PG_FUNCTION_INFO_V1(eventstore_event_hash);
PG_FUNCTION_INFO_V1(eventstore_ledger_hash);

/*
 * eventstore.event_hash(stream_id, stream_version, event_id, event_type,
 *     schema_version, event_time, data, metadata, previous_hash) -> bytea
 * NULL previous_hash means the genesis (32 zero bytes).  Every argument but
 * metadata and previous_hash must be non-NULL.
 */
Datum eventstore_event_hash(PG_FUNCTION_ARGS)
{
    for (int i = 0; i <= 6; i++)
        if (PG_ARGISNULL(i))
            PG_RETURN_NULL();

    text *stream_id = PG_GETARG_TEXT_PP(0);
    text *event_type = PG_GETARG_TEXT_PP(3);
    uint8 previous[kHashBytes] = {0};
    if (!PG_ARGISNULL(8))
        hash_from_bytea(PG_GETARG_BYTEA_PP(8), "previous_hash", previous);

    EventHashInput input;
    input.stream_id = VARDATA_ANY(stream_id);
    input.stream_id_length = VARSIZE_ANY_EXHDR(stream_id);
    input.stream_version = PG_GETARG_INT64(1);
    input.event_id = PG_GETARG_UUID_P(2);
    input.event_type = VARDATA_ANY(event_type);
    input.event_type_length = VARSIZE_ANY_EXHDR(event_type);
    input.schema_version = PG_GETARG_INT32(4);
    input.event_time = PG_GETARG_TIMESTAMPTZ(5);
    input.data_text = jsonb_text(PG_GETARG_JSONB_P(6));
    input.metadata_text = PG_ARGISNULL(7) ? nullptr : jsonb_text(PG_GETARG_JSONB_P(7));

    uint8 hash[kHashBytes];
    hash_event(&input, previous, hash);
    PG_RETURN_BYTEA_P(hash_to_bytea(hash));
}

}  // extern "C"

extern "C" {

/*
 * eventstore.ledger_hash(previous_ledger_hash, event_hash, global_position) -> bytea
 * NULL previous_ledger_hash means position 1 (32 zero bytes before it).
 */
Datum eventstore_ledger_hash(PG_FUNCTION_ARGS)
{
    if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
        PG_RETURN_NULL();
    uint8 previous[kHashBytes] = {0};
    uint8 event[kHashBytes];
    if (!PG_ARGISNULL(0))
        hash_from_bytea(PG_GETARG_BYTEA_PP(0), "previous_ledger_hash", previous);
    hash_from_bytea(PG_GETARG_BYTEA_PP(1), "event_hash", event);
    uint8 out[kHashBytes];
    hash_ledger_entry(previous, event, PG_GETARG_INT64(2), out);
    PG_RETURN_BYTEA_P(hash_to_bytea(out));
}

}  // extern "C"
