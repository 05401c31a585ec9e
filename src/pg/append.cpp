/*
 * append.cpp — eventstore.append() and eventstore.append_batch().
 *
 * Both SQL functions funnel into append_events(), the one append path:
 *
 *   1. validate every input (nothing is read or written before this passes);
 *   2. read the stream's head (creating the stream on first use);
 *   3. idempotency: caller-supplied event ids that are already stored with
 *      the same stream, type and data make the call a no-op that returns the
 *      stored version; the same id with other content is ES002.  This runs
 *      before the expected-version check so that a retried call succeeds;
 *   4. the expected-version check (ES001);
 *   5. the late-event rule: under the category's period lock, events whose
 *      period is soft-closed or closed are stored like any other and recorded
 *      in eventstore.late_events in the same transaction (period_guard.h);
 *   6. hash every event onto the stream's chain;
 *   7. move the head past them: the update is the stream's lock, so appends
 *      to one stream serialize and appends to different streams never wait
 *      for each other (there is no global lock).  When a concurrent append
 *      to the stream committed after step 2, nothing was written yet and
 *      steps 2-7 run again from the new head (log_writer.h);
 *   8. insert the events, with an insert sequence number taken while the
 *      head is held, so within a stream insert order is version order, which
 *      the sequencer relies on (docs/global-order.md).
 *
 * Steps 2, 7 and 8 write through the table and index access methods, not
 * SQL statements (log_writer.h has why); the idempotency lookup, a new
 * stream and late events, which most appends do not need, are SPI
 * statements.
 *
 * Everything here is C-style glue with plain-data locals, because any SPI
 * call may ereport(ERROR); C++ runs only inside guarded_call().
 */
#include "pg_includes.h"

#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include "commit_doorbell.h"
#include "core/expected_version.h"
#include "core/identifiers.h"
#include "errors.h"
#include "event_hashing.h"
#include "gucs.h"
#include "kept_plan.h"
#include "log_writer.h"
#include "period_guard.h"
#include "spi_helpers.h"

extern "C" {
#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "port.h"
#include "utils/array.h"
#include "catalog/pg_collation.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"
#include "utils/snapmgr.h"
#include "utils/uuid.h"
}

namespace eventstore::pg {
namespace {

/* One event as received, validated and (later) hashed. Plain data only. */
struct PendingEvent {
    pg_uuid_t event_id;
    bool event_id_given;
    text *event_type;
    Jsonb *data;
    Jsonb *metadata; /* NULL when absent */
    TimestampTz event_time;
    int32 schema_version;
    uint8 hash[kHashBytes];
};

struct AppendRequest {
    text *stream_id;
    PendingEvent *events;
    int count;
    bool expected_given;
    int64 expected_version;
    bool period_record; /* the period audit trail, the one writer of '$period-' streams */
};

/*
 * The category of the period audit trail: streams '$period-<category>'.
 * Only close, reopen, the clock and resolutions append there; the period
 * books read its records as the truth, so no application may write to any
 * stream of the category ('$period' itself included).
 */
constexpr char kPeriodCategory[] = "$period";
constexpr char kPeriodStreamPrefix[] = "$period-";

/* "" for a single append, "event 3 of the batch: " inside a batch. */
const char *event_position_label(int index, bool in_batch)
{
    return in_batch ? psprintf("event %d of the batch: ", index + 1) : "";
}

/*
 * A short, printable rendering of a value for error messages: at most 64
 * bytes, cut on a character boundary of the server encoding.  A cut inside
 * a multibyte character gave UTF-8 clients a broken character and made the
 * message unconvertible for clients in other encodings, who then got 22021
 * instead of the error that was meant.
 */
char *abbreviate(const char *value)
{
    const int limit = 64;
    const int length = (int)strlen(value);
    if (length <= limit)
        return pstrdup(value);
    return psprintf("%.*s...", pg_mbcliplen(value, length, limit), value);
}

void check_stream_id(text *stream_id)
{
    const char *bytes = VARDATA_ANY(stream_id);
    const int length = VARSIZE_ANY_EXHDR(stream_id);
    const IdentifierProblem problem = check_identifier(std::string_view(bytes, length));
    if (problem == IdentifierProblem::none)
        return;
    if (problem == IdentifierProblem::invalid_utf8 || problem == IdentifierProblem::contains_nul)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("invalid stream id: it %s", describe_identifier_problem(problem)),
                        errdetail("The stream id is %d bytes long.", length)));
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("invalid stream id \"%s\": it %s", abbreviate(text_to_cstring(stream_id)),
                           describe_identifier_problem(problem)),
                    errhint("A stream id is 1 to 255 bytes of UTF-8, such as 'account-42'.")));
}

void check_json_object(Jsonb *value, const char *field, const char *label)
{
    if (JB_ROOT_IS_OBJECT(value))
        return;
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("%s%s must be a JSON object, got %s", label, field, abbreviate(jsonb_text(value)))));
}

/* An event's size as the limits count it: data plus metadata as stored (jsonb). */
int64 event_bytes(const PendingEvent *event)
{
    return VARSIZE(event->data) + (event->metadata ? VARSIZE(event->metadata) : 0);
}

void check_event(PendingEvent *event, int index, bool in_batch)
{
    const char *label = event_position_label(index, in_batch);

    if (event->event_type == nullptr)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("%sevent_type must not be NULL", label)));
    const IdentifierProblem problem =
        check_identifier(std::string_view(VARDATA_ANY(event->event_type), VARSIZE_ANY_EXHDR(event->event_type)));
    if (problem == IdentifierProblem::empty || problem == IdentifierProblem::too_long)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("%sinvalid event_type \"%s\": it %s", label,
                               abbreviate(text_to_cstring(event->event_type)), describe_identifier_problem(problem))));
    if (problem != IdentifierProblem::none)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("%sinvalid event_type: it %s", label, describe_identifier_problem(problem))));

    if (event->data == nullptr)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("%sdata must be a JSON object, got NULL", label)));
    check_json_object(event->data, "data", label);
    if (event->metadata != nullptr)
        check_json_object(event->metadata, "metadata", label);

    const int64 size = event_bytes(event);
    if (size > guc_max_event_size)
        ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                        errmsg("%sevent is %lld bytes, over pg_eventstore.max_event_size (%d bytes)", label,
                               (long long)size, guc_max_event_size),
                        errhint("Store large payloads elsewhere and append a reference to them.")));

    if (TIMESTAMP_NOT_FINITE(event->event_time))
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("%sevent_time must be a finite timestamp, got %s", label,
                               timestamptz_to_str(event->event_time))));
    if (event->schema_version < 1)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("%sschema_version must be 1 or more, got %d", label, event->schema_version)));
}

int compare_uuids(const void *a, const void *b)
{
    return memcmp(*(const pg_uuid_t *const *)a, *(const pg_uuid_t *const *)b, UUID_LEN);
}

void check_batch_ids_unique(const AppendRequest *request)
{
    const pg_uuid_t **ids = (const pg_uuid_t **)palloc(sizeof(pg_uuid_t *) * request->count);
    int given = 0;
    for (int i = 0; i < request->count; i++)
        if (request->events[i].event_id_given)
            ids[given++] = &request->events[i].event_id;
    qsort(ids, given, sizeof(pg_uuid_t *), compare_uuids);
    for (int i = 1; i < given; i++)
        if (memcmp(ids[i - 1], ids[i], UUID_LEN) == 0)
            ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                            errmsg("event id %s appears more than once in the batch",
                                   DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(ids[i]))))));
    pfree(ids);
}

void check_batch_size(const AppendRequest *request)
{
    int64 bytes = 0;
    for (int i = 0; i < request->count; i++)
        bytes += event_bytes(&request->events[i]);
    if (bytes > guc_max_batch_size)
        ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                        errmsg("batch of %d events is %lld bytes, over pg_eventstore.max_batch_size (%d bytes)",
                               request->count, (long long)bytes, guc_max_batch_size),
                        errhint("Append it in several smaller batches, or raise pg_eventstore.max_batch_size.")));
}

void check_request(AppendRequest *request, bool in_batch)
{
    check_stream_id(request->stream_id);
    if (!request->period_record &&
        stream_category(std::string_view(VARDATA_ANY(request->stream_id), VARSIZE_ANY_EXHDR(request->stream_id))) ==
            kPeriodCategory)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("stream \"%s\" is reserved for the period audit trail",
                               abbreviate(text_to_cstring(request->stream_id))),
                        errhint("Streams of the category \"$period\" are written by close_period, reopen_period, "
                                "resolve_late_event and the period clock only.")));
    if (request->expected_given && !expected_version_is_valid(request->expected_version))
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("expected_version must be NULL (any), 0 (no stream), -1 (existing stream) or a "
                               "version of 1 or more, got %lld",
                               (long long)request->expected_version)));
    for (int i = 0; i < request->count; i++)
        check_event(&request->events[i], i, in_batch);
    if (in_batch) {
        check_batch_size(request);
        check_batch_ids_unique(request);
    }
}

void generate_event_id(pg_uuid_t *id)
{
    if (!pg_strong_random(id->data, UUID_LEN))
        ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("could not generate a random event id")));
    id->data[6] = (id->data[6] & 0x0f) | 0x40; /* version 4 */
    id->data[8] = (id->data[8] & 0x3f) | 0x80; /* RFC 4122 variant */
}

/* ---- statements, planned once per backend ---- */

KeptPlan create_stream_statement = {
    "INSERT INTO eventstore.streams (stream_id, category, version, head_hash) "
    "VALUES ($1, $2, 0, '\\x0000000000000000000000000000000000000000000000000000000000000000'::bytea) "
    "ON CONFLICT (stream_id) DO NOTHING",
    2,
    {TEXTOID, TEXTOID}};

/*
 * Which of the given ids are stored, with what they are stored as.  Only the
 * ids go to the server: the content is compared here, for the few ids found,
 * so a batch's data is not copied into one more array (a 100 MB batch took
 * 6x its size in backend memory in 0.1).
 */
KeptPlan stored_ids_statement = {
    "SELECT e.event_id, e.stream_id, e.stream_version, u.batch_index, e.event_type, e.data "
    "FROM unnest($1, $2) AS u(event_id, batch_index) "
    "JOIN eventstore.events e ON e.event_id = u.event_id "
    "ORDER BY u.batch_index",
    2,
    {UUIDARRAYOID, INT4ARRAYOID}};

char *uuid_text(const pg_uuid_t *id) { return DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(id))); }

/*
 * Creates a new stream's head at version 0.  A concurrent creator makes
 * this a no-op (ON CONFLICT waits for it and then does nothing).  A plain
 * SPI statement: it runs once per stream, not once per append.
 */
void create_stream(text *stream_id)
{
    const char *id = VARDATA_ANY(stream_id);
    const std::string_view category = stream_category(std::string_view(id, VARSIZE_ANY_EXHDR(stream_id)));
    Datum args[2] = {PointerGetDatum(stream_id),
                     PointerGetDatum(cstring_to_text_with_len(category.data(), (int)category.size()))};
    run_kept_plan(create_stream_statement, args, nullptr, false, 0, SPI_OK_INSERT);
    CommandCounterIncrement();
}

/*
 * The stream's head under the active snapshot (push_head_snapshot()),
 * creating the stream on first use; a new snapshot then shows the row,
 * also when a concurrent creator's insert was the one that counted.
 */
void stream_head(text *stream_id, StreamHead *head)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        read_stream_head(stream_id, head);
        if (head->exists)
            return;
        create_stream(stream_id);
        PopActiveSnapshot();
        push_head_snapshot();
    }
    /* Created by a transaction this one's snapshot cannot see: only under REPEATABLE READ or SERIALIZABLE. */
    ereport(ERROR, (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
                    errmsg("could not serialize access due to concurrent update"),
                    errdetail("Stream \"%s\" was created by a transaction that committed after this one began.",
                              text_to_cstring(stream_id))));
}

/* Whether a stored event (stream_id, event_type and data at columns 2, 5, 6) is `event` as sent now. */
bool stored_as_sent(HeapTuple tuple, TupleDesc desc, const AppendRequest *request, const PendingEvent *event)
{
    bool isnull;
    const Datum stream_id = SPI_getbinval(tuple, desc, 2, &isnull);
    const Datum event_type = SPI_getbinval(tuple, desc, 5, &isnull);
    const Datum data = SPI_getbinval(tuple, desc, 6, &isnull);
    return DatumGetBool(DirectFunctionCall2Coll(texteq, C_COLLATION_OID, stream_id,
                                                PointerGetDatum(request->stream_id))) &&
           DatumGetBool(DirectFunctionCall2Coll(texteq, C_COLLATION_OID, event_type,
                                                PointerGetDatum(event->event_type))) &&
           DatumGetBool(DirectFunctionCall2(jsonb_eq, data, JsonbPGetDatum(event->data)));
}

/*
 * Looks up caller-supplied event ids.  Returns true (and the stream version
 * after the original call in *stored_version) when the request is a retry:
 * every caller-supplied id is stored with the same content.  Events without
 * an id cannot be looked up, but a batch is all or nothing, so if its
 * identified events are stored, the rest were stored with them.
 */
bool already_stored(const AppendRequest *request, int64 current_version, int64 *stored_version)
{
    Datum *ids = (Datum *)palloc(sizeof(Datum) * request->count);
    Datum *indexes = (Datum *)palloc(sizeof(Datum) * request->count);
    int given = 0;
    for (int i = 0; i < request->count; i++) {
        const PendingEvent *event = &request->events[i];
        if (!event->event_id_given)
            continue;
        ids[given] = UUIDPGetDatum(&event->event_id);
        indexes[given] = Int32GetDatum(i);
        given++;
    }
    if (given == 0)
        return false;

    Datum args[2] = {PointerGetDatum(array_of(ids, nullptr, given, UUIDOID)),
                     PointerGetDatum(array_of(indexes, nullptr, given, INT4OID))};
    /*
     * Under the snapshot the head was read with, so ids and head agree: a
     * retry whose original commits after this snapshot finds neither, waits
     * for the original when it moves the head, and then runs again from a
     * new snapshot that shows the original's events, returning the stored
     * version (not ES002, and not a second copy).
     */
    if (SPI_execute_snapshot(kept_plan(stored_ids_statement), args, nullptr, GetActiveSnapshot(), InvalidSnapshot,
                             true, false, 0) != SPI_OK_SELECT)
        ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("pg_eventstore: looking up event ids failed")));

    const uint64 stored = SPI_processed;
    bool same_call = true; /* stored at the same offsets as in this call, and wholly */
    int64 first_version = 0;
    for (uint64 row = 0; row < stored; row++) {
        HeapTuple tuple = SPI_tuptable->vals[row];
        TupleDesc desc = SPI_tuptable->tupdesc;
        bool isnull;
        const int64 version = DatumGetInt64(SPI_getbinval(tuple, desc, 3, &isnull));
        const int32 index = DatumGetInt32(SPI_getbinval(tuple, desc, 4, &isnull));
        if (!stored_as_sent(tuple, desc, request, &request->events[index]))
            ereport(ERROR, (errcode(ERRCODE_ES_EVENT_ID_REUSED),
                            errmsg("event id %s is already stored with other content",
                                   uuid_text(DatumGetUUIDP(SPI_getbinval(tuple, desc, 1, &isnull)))),
                            errdetail("It is version %lld of stream \"%s\"; an event id may only be re-sent with "
                                      "the same stream, event_type and data.",
                                      (long long)version, SPI_getvalue(tuple, desc, 2))));
        if (row == 0)
            first_version = version - index;
        same_call = same_call && version - index == first_version;
        /* Rows come in batch order: the last one fixes the version after the batch. */
        *stored_version = version + (request->count - 1 - index);
    }
    if (stored == 0)
        return false;
    same_call = same_call && *stored_version <= current_version;
    if (stored < (uint64)given || !same_call)
        ereport(ERROR, (errcode(ERRCODE_ES_EVENT_ID_REUSED),
                        errmsg("this call mixes events that are already stored with new events"),
                        errdetail("%llu of its %d event ids are stored, by an earlier call that was not this one. "
                                  "A retried call must be sent exactly as the first time.",
                                  (unsigned long long)stored, given)));
    return true;
}

pg_attribute_noreturn() void report_wrong_expected_version(const AppendRequest *request, int64 current_version)
{
    char expected[64];
    const std::optional<int64_t> expectation =
        request->expected_given ? std::optional<int64_t>(request->expected_version) : std::nullopt;
    guarded_call([&] { strlcpy(expected, describe_expected_version(expectation).c_str(), sizeof expected); });
    ereport(ERROR, (errcode(ERRCODE_ES_WRONG_EXPECTED_VERSION),
                    errmsg("wrong expected version for stream \"%s\": expected %s, actual version %lld",
                           text_to_cstring(request->stream_id), expected, (long long)current_version),
                    errdetail("expected_version=%lld actual_version=%lld", (long long)request->expected_version,
                              (long long)current_version)));
    pg_unreachable();
}

/*
 * In a SQL_ASCII database jsonb accepts any bytes, but the hash chain's
 * canonical form is UTF-8 text that verifiers outside the database decode:
 * refuse what they could not.
 */
void check_utf8_text(const char *data_text, const char *metadata_text, int index, bool in_batch)
{
    const char *fields[2] = {data_text, metadata_text};
    const char *names[2] = {"data", "metadata"};
    for (int f = 0; f < 2; f++)
        if (fields[f] != nullptr && !pg_verify_mbstr(PG_UTF8, fields[f], (int)strlen(fields[f]), true))
            ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                            errmsg("%s%s is not valid UTF-8", event_position_label(index, in_batch), names[f]),
                            errhint("The database is SQL_ASCII; events must still be UTF-8 text.")));
}

/*
 * Computes each event's hash onto the chain; returns the new head in
 * head_hash.  The text forms hashed are freed event by event (a context
 * reset per event), so a batch never holds a second copy of all its data.
 */
void seal_events(AppendRequest *request, int64 current_version, uint8 *head_hash)
{
    MemoryContext per_event = AllocSetContextCreate(CurrentMemoryContext, "pg_eventstore event hashing",
                                                    ALLOCSET_DEFAULT_SIZES);
    MemoryContext caller = MemoryContextSwitchTo(per_event);
    EventHashInput input;
    input.stream_id = VARDATA_ANY(request->stream_id);
    input.stream_id_length = VARSIZE_ANY_EXHDR(request->stream_id);
    for (int i = 0; i < request->count; i++) {
        PendingEvent *event = &request->events[i];
        input.stream_version = current_version + i + 1;
        input.event_id = &event->event_id;
        input.event_type = VARDATA_ANY(event->event_type);
        input.event_type_length = VARSIZE_ANY_EXHDR(event->event_type);
        input.schema_version = event->schema_version;
        input.event_time = event->event_time;
        input.data_text = jsonb_text(event->data);
        input.metadata_text = event->metadata ? jsonb_text(event->metadata) : nullptr;
        if (GetDatabaseEncoding() == PG_SQL_ASCII)
            check_utf8_text(input.data_text, input.metadata_text, i, request->count > 1);
        hash_event(&input, head_hash, event->hash);
        memcpy(head_hash, event->hash, kHashBytes);
        MemoryContextReset(per_event);
    }
    MemoryContextSwitchTo(caller);
    MemoryContextDelete(per_event);
}

/*
 * Inserts the sealed events after the head moved past them.  An event id
 * that a concurrent transaction stored in another stream in the meantime
 * (it committed while this one waited on the index entry) fails the insert
 * with a unique violation on events_event_id_key: that is this call's
 * ES002, raised in its place.
 */
void insert_events(const AppendRequest *request, int64 current_version, TimestampTz now)
{
    EventRow *rows = (EventRow *)palloc(sizeof(EventRow) * request->count);
    for (int i = 0; i < request->count; i++) {
        const PendingEvent *event = &request->events[i];
        rows[i] = EventRow{current_version + i + 1, &event->event_id, event->event_type, event->schema_version,
                           event->data, event->metadata, event->event_time, event->hash};
    }
    MemoryContext caller = CurrentMemoryContext;
    PG_TRY();
    {
        insert_event_rows(request->stream_id, rows, request->count, now);
    }
    PG_CATCH();
    {
        MemoryContextSwitchTo(caller);
        ErrorData *error = CopyErrorData();
        if (error->sqlerrcode != ERRCODE_UNIQUE_VIOLATION || error->constraint_name == nullptr ||
            strcmp(error->constraint_name, "events_event_id_key") != 0)
            PG_RE_THROW();
        FlushErrorState();
        ereport(ERROR, (errcode(ERRCODE_ES_EVENT_ID_REUSED),
                        errmsg("an event id of this append was stored concurrently by another transaction"),
                        errdetail("%s", error->detail ? error->detail : "")));
    }
    PG_END_TRY();
    pfree(rows);
}

/*
 * The one append path. Returns the stream's version after the call.
 *
 * Everything is decided from the stream's head as read, then the head is
 * moved (log_writer.h): if a concurrent append to the stream committed in
 * between, the head moves nowhere and the decision is made again from the
 * new head.  So a retry that waited for its original finds the original's
 * events stored, and an expected version is checked against the version
 * the events really follow.
 */
int64 append_events(AppendRequest *request, bool in_batch)
{
    check_request(request, in_batch);
    for (int i = 0; i < request->count; i++)
        if (!request->events[i].event_id_given)
            generate_event_id(&request->events[i].event_id);

    if (SPI_connect() != SPI_OK_CONNECT)
        ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("pg_eventstore: SPI_connect failed")));

    TimestampTz *event_times = (TimestampTz *)palloc(sizeof(TimestampTz) * request->count);
    for (int i = 0; i < request->count; i++)
        event_times[i] = request->events[i].event_time;
    const std::optional<int64_t> expectation =
        request->expected_given ? std::optional<int64_t>(request->expected_version) : std::nullopt;
    const TimestampTz now = GetCurrentTimestamp();

    StreamHead head;
    const PeriodVerdict *verdicts;
    uint8 new_head_hash[kHashBytes];
    do {
        push_head_snapshot();
        stream_head(request->stream_id, &head);
        int64 stored_version = 0;
        if (already_stored(request, head.version, &stored_version)) {
            PopActiveSnapshot();
            SPI_finish();
            return stored_version;
        }
        if (!expected_version_matches(expectation, head.version))
            report_wrong_expected_version(request, head.version);
        verdicts = judge_event_times(request->stream_id, event_times, request->count);
        memcpy(new_head_hash, head.hash, kHashBytes);
        seal_events(request, head.version, new_head_hash);
        PopActiveSnapshot();
    } while (!move_stream_head(request->stream_id, &head, head.version + request->count, new_head_hash, now));

    insert_events(request, head.version, now);
    if (verdicts != nullptr) {
        pg_uuid_t *event_ids = (pg_uuid_t *)palloc(sizeof(pg_uuid_t) * request->count);
        for (int i = 0; i < request->count; i++)
            event_ids[i] = request->events[i].event_id;
        record_late_events(request->stream_id, head.version + 1, event_ids, event_times, verdicts, request->count);
    }
    SPI_finish();

    wake_worker_at_commit();
    return head.version + request->count;
}

/* Reads one eventstore.new_event composite into *event. */
void read_new_event(HeapTupleHeader record, TupleDesc desc, PendingEvent *event)
{
    HeapTupleData tuple;
    tuple.t_len = HeapTupleHeaderGetDatumLength(record);
    ItemPointerSetInvalid(&tuple.t_self);
    tuple.t_tableOid = InvalidOid;
    tuple.t_data = record;

    bool isnull;
    Datum value = heap_getattr(&tuple, 1, desc, &isnull);
    event->event_id_given = !isnull;
    if (!isnull)
        memcpy(&event->event_id, DatumGetUUIDP(value), UUID_LEN);
    value = heap_getattr(&tuple, 2, desc, &isnull);
    event->event_type = isnull ? nullptr : DatumGetTextPP(value);
    value = heap_getattr(&tuple, 3, desc, &isnull);
    event->data = isnull ? nullptr : DatumGetJsonbP(value);
    value = heap_getattr(&tuple, 4, desc, &isnull);
    event->metadata = isnull ? nullptr : DatumGetJsonbP(value);
    value = heap_getattr(&tuple, 5, desc, &isnull);
    event->event_time = isnull ? GetCurrentTransactionStartTimestamp() : DatumGetTimestampTz(value);
    value = heap_getattr(&tuple, 6, desc, &isnull);
    event->schema_version = isnull ? 1 : DatumGetInt32(value);
}

pg_attribute_noreturn() void report_null_argument(const char *name)
{
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("%s must not be NULL", name)));
    pg_unreachable();
}

}  // namespace
}  // namespace eventstore::pg

using namespace eventstore::pg;

extern "C" {

PG_FUNCTION_INFO_V1(eventstore_append);
PG_FUNCTION_INFO_V1(eventstore_append_batch);

/*
 * eventstore.append(stream_id, event_type, data, metadata, expected_version,
 *                   event_id, event_time) RETURNS bigint
 */
Datum eventstore_append(PG_FUNCTION_ARGS)
{
    if (PG_ARGISNULL(0))
        report_null_argument("stream_id");

    PendingEvent event;
    memset(&event, 0, sizeof event);
    event.event_type = PG_ARGISNULL(1) ? nullptr : PG_GETARG_TEXT_PP(1);
    event.data = PG_ARGISNULL(2) ? nullptr : PG_GETARG_JSONB_P(2);
    event.metadata = PG_ARGISNULL(3) ? nullptr : PG_GETARG_JSONB_P(3);
    event.event_id_given = !PG_ARGISNULL(5);
    if (event.event_id_given)
        memcpy(&event.event_id, PG_GETARG_UUID_P(5), UUID_LEN);
    event.event_time = PG_ARGISNULL(6) ? GetCurrentTransactionStartTimestamp() : PG_GETARG_TIMESTAMPTZ(6);
    event.schema_version = 1;

    AppendRequest request;
    request.stream_id = PG_GETARG_TEXT_PP(0);
    request.events = &event;
    request.count = 1;
    request.expected_given = !PG_ARGISNULL(4);
    request.expected_version = request.expected_given ? PG_GETARG_INT64(4) : 0;
    request.period_record = false;
    PG_RETURN_INT64(append_events(&request, false));
}

/*
 * eventstore.append_batch(stream_id, events eventstore.new_event[],
 *                         expected_version) RETURNS bigint — all or nothing.
 */
Datum eventstore_append_batch(PG_FUNCTION_ARGS)
{
    if (PG_ARGISNULL(0))
        report_null_argument("stream_id");
    if (PG_ARGISNULL(1))
        report_null_argument("events");

    ArrayType *array = PG_GETARG_ARRAYTYPE_P(1);
    if (ARR_NDIM(array) > 1)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("events must be a one-dimensional array, got %d dimensions", ARR_NDIM(array))));
    const Oid element_type = ARR_ELEMTYPE(array);
    int16 length;
    bool by_value;
    char alignment;
    get_typlenbyvalalign(element_type, &length, &by_value, &alignment);
    Datum *elements;
    bool *element_nulls;
    int count;
    deconstruct_array(array, element_type, length, by_value, alignment, &elements, &element_nulls, &count);
    if (count == 0)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("events must contain at least one event")));

    TupleDesc desc = lookup_rowtype_tupdesc(element_type, -1);
    PendingEvent *events = (PendingEvent *)palloc0(sizeof(PendingEvent) * count);
    for (int i = 0; i < count; i++) {
        if (element_nulls[i])
            ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                            errmsg("event %d of the batch is NULL", i + 1)));
        read_new_event(DatumGetHeapTupleHeader(elements[i]), desc, &events[i]);
    }
    ReleaseTupleDesc(desc);

    AppendRequest request;
    request.stream_id = PG_GETARG_TEXT_PP(0);
    request.events = events;
    request.count = count;
    request.expected_given = !PG_ARGISNULL(2);
    request.expected_version = request.expected_given ? PG_GETARG_INT64(2) : 0;
    request.period_record = false;
    PG_RETURN_INT64(append_events(&request, true));
}

PG_FUNCTION_INFO_V1(eventstore_append_period_record);

/*
 * eventstore.append_period_record(category, event_type, data) RETURNS bigint:
 * one record of the period audit trail, in stream '$period-<category>'.
 * Granted to nobody: the period functions call it as the extension's owner.
 */
Datum eventstore_append_period_record(PG_FUNCTION_ARGS)
{
    text *category = PG_GETARG_TEXT_PP(0);
    PendingEvent event;
    memset(&event, 0, sizeof event);
    event.event_type = PG_GETARG_TEXT_PP(1);
    event.data = PG_GETARG_JSONB_P(2);
    event.event_time = GetCurrentTimestamp();
    event.schema_version = 1;

    AppendRequest request;
    request.stream_id = cstring_to_text(psprintf("%s%s", kPeriodStreamPrefix, text_to_cstring(category)));
    request.events = &event;
    request.count = 1;
    request.expected_given = false;
    request.expected_version = 0;
    request.period_record = true;
    PG_RETURN_INT64(append_events(&request, false));
}

}  // extern "C"
