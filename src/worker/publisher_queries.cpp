/*
 * publisher_queries.cpp — SPI statements of the Kafka publisher (see the header).
 *
 * The Kafka form of an event (topic, key, CloudEvents and es_* headers) is
 * defined once, in SQL, by the eventstore.event_messages view; both the
 * publisher and the dead-letter path read it.
 */
#include "publisher_queries.h"

#include "pg/errors.h"
#include "pg/kept_plan.h"
#include "pg/spi_helpers.h"

extern "C" {
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "nodes/parsenodes.h"
#include "utils/array.h"
#include "utils/builtins.h"
}

namespace eventstore::worker {
namespace {

using pg::KeptPlan;
using pg::run_kept_plan;


/*
 * The next event messages: positions first (a range of the log_positions
 * primary key), then each one's message by primary-key lookups.  OFFSET 0
 * keeps the lateral subquery from being merged into a join whose method the
 * planner would pick from statistics: when they were missing or stale it
 * chose to hash the whole event log, turning a 10,000-row read into seconds
 * as the log grew.  This shape costs the same whatever the statistics say.
 *
 * Planned once (a generic plan), not for each read: the view's joins took
 * about 1 ms to plan, a third of the worker's CPU at 5,000 events/s.  The
 * plan is rebuilt whenever autovacuum analyzes or vacuums a table it reads
 * (the jobs report their statistics, see job_loop.cpp), so a plan made while
 * the log was empty does not outlive the log's growth.
 */
KeptPlan fetch_events_statement = {
    "SELECT m.global_position, m.topic, m.key, m.payload::text, m.header_names, m.header_values "
    "FROM (SELECT global_position FROM eventstore.log_positions "
    "      WHERE global_position > $1 ORDER BY global_position LIMIT $2) next "
    "CROSS JOIN LATERAL (SELECT * FROM eventstore.event_messages m "
    "                    WHERE m.global_position = next.global_position OFFSET 0) m "
    "ORDER BY next.global_position",
    2,
    {INT8OID, INT8OID},
    CURSOR_OPT_GENERIC_PLAN};

/* es_outbox_id lets consumers drop the duplicates at-least-once allows. */
KeptPlan fetch_outbox_statement = {
    "SELECT o.message_id, o.topic, o.key, o.payload::text, hs.names, hs.vals "
    "FROM (SELECT message_id, topic, key, payload, "
    "             headers || pg_catalog.jsonb_build_object('es_outbox_id', message_id::text) AS headers "
    "      FROM eventstore.outbox ORDER BY message_id LIMIT $1) o "
    "LEFT JOIN LATERAL (SELECT pg_catalog.array_agg(h.key) AS names, pg_catalog.array_agg(h.value) AS vals "
    "                   FROM pg_catalog.jsonb_each_text(o.headers) h) hs ON true "
    "ORDER BY o.message_id",
    1,
    {INT8OID}};

/* No row yet (nothing ever published) means position 0. */
KeptPlan published_position_statement = {
    "SELECT coalesce((SELECT published_position FROM eventstore.publisher_state), 0)", 0, {}};

KeptPlan event_dead_letter_statement = {
    "INSERT INTO eventstore.dead_letters "
    "  (source, global_position, event_id, topic, key, payload, headers, error_code, error) "
    "SELECT 'event', m.global_position, m.event_id, m.topic, m.key, m.payload, m.headers, $2, $3 "
    "FROM eventstore.event_messages m WHERE m.global_position = $1",
    3,
    {INT8OID, TEXTOID, TEXTOID}};

KeptPlan advance_published_statement = {
    "INSERT INTO eventstore.publisher_state AS s (published_position) VALUES ($1) "
    "ON CONFLICT (singleton) DO UPDATE "
    "SET published_position = excluded.published_position, updated_at = pg_catalog.now() "
    "WHERE s.published_position < excluded.published_position",
    1,
    {INT8OID}};

KeptPlan delete_outbox_statement = {"DELETE FROM eventstore.outbox WHERE message_id = ANY ($1)", 1, {INT8ARRAYOID}};

KeptPlan outbox_dead_letter_statement = {
    "WITH moved AS (DELETE FROM eventstore.outbox WHERE message_id = $1 RETURNING *) "
    "INSERT INTO eventstore.dead_letters (source, topic, key, payload, headers, error_code, error) "
    "SELECT 'outbox', topic, key, payload, headers, $2, $3 FROM moved",
    3,
    {INT8OID, TEXTOID, TEXTOID}};

/* One row of a message read, detoasted, in plain data (palloc'd, freed with the round's transaction). */
struct MessageRow {
    int64 id;
    text *topic;
    text *key; /* NULL: no key */
    text *value;
    int header_count;
    text **header_names;
    text **header_values; /* an entry is NULL for a NULL value */
};

/*
 * The PostgreSQL half of copying the result rows (id, topic, key, payload,
 * header names, header values): detoast and deconstruct into plain data.
 * Everything that can ereport(ERROR) happens here, none of it C++.
 */
MessageRow *read_message_rows(uint64 count)
{
    SPITupleTable *rows = SPI_tuptable;
    MessageRow *out = static_cast<MessageRow *>(palloc0(sizeof(MessageRow) * (count > 0 ? count : 1)));
    for (uint64 i = 0; i < count; i++) {
        HeapTuple row = rows->vals[i];
        MessageRow &message = out[i];
        bool isnull;
        message.id = DatumGetInt64(SPI_getbinval(row, rows->tupdesc, 1, &isnull));
        message.topic = DatumGetTextPP(SPI_getbinval(row, rows->tupdesc, 2, &isnull));
        const Datum key = SPI_getbinval(row, rows->tupdesc, 3, &isnull);
        message.key = isnull ? nullptr : DatumGetTextPP(key);
        message.value = DatumGetTextPP(SPI_getbinval(row, rows->tupdesc, 4, &isnull));

        bool names_null, values_null;
        const Datum names = SPI_getbinval(row, rows->tupdesc, 5, &names_null);
        const Datum values = SPI_getbinval(row, rows->tupdesc, 6, &values_null);
        if (names_null || values_null)
            continue; /* no headers */
        Datum *name_items, *value_items;
        bool *name_nulls, *value_nulls;
        int name_count, value_count;
        deconstruct_array(DatumGetArrayTypeP(names), TEXTOID, -1, false, TYPALIGN_INT, &name_items, &name_nulls,
                          &name_count);
        deconstruct_array(DatumGetArrayTypeP(values), TEXTOID, -1, false, TYPALIGN_INT, &value_items, &value_nulls,
                          &value_count);
        message.header_count = Min(name_count, value_count);
        message.header_names = static_cast<text **>(palloc(sizeof(text *) * Max(message.header_count, 1)));
        message.header_values = static_cast<text **>(palloc(sizeof(text *) * Max(message.header_count, 1)));
        for (int h = 0; h < message.header_count; h++) {
            message.header_names[h] = DatumGetTextPP(name_items[h]);
            message.header_values[h] = value_nulls[h] ? nullptr : DatumGetTextPP(value_items[h]);
        }
    }
    return out;
}

void assign(std::string &out, const text *value)
{
    out.assign(VARDATA_ANY(value), VARSIZE_ANY_EXHDR(value));
}

/* The C++ half: the plain rows into `batch`, under the guard (no PostgreSQL call inside). */
void copy_messages(MessageBatch &batch)
{
    const uint64 count = SPI_processed;
    const MessageRow *rows = read_message_rows(count);
    pg::guarded_call([&] {
        for (uint64 i = 0; i < count; i++) {
            const MessageRow &row = rows[i];
            kafka::OutgoingMessage &message = batch.append(row.id);
            assign(message.topic, row.topic);
            message.has_key = row.key != nullptr;
            if (row.key != nullptr)
                assign(message.key, row.key);
            assign(message.value, row.value);
            message.headers.resize(static_cast<size_t>(row.header_count));
            for (int h = 0; h < row.header_count; h++) {
                assign(message.headers[h].first, row.header_names[h]);
                if (row.header_values[h] == nullptr)
                    message.headers[h].second.clear();
                else
                    assign(message.headers[h].second, row.header_values[h]);
            }
        }
    });
}

}  // namespace

int64 load_published_position()
{
    run_kept_plan(published_position_statement, nullptr, nullptr, false, 0, SPI_OK_SELECT);
    bool isnull;
    return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

void fetch_event_messages(int64 after_position, int64 limit, MessageBatch &batch)
{
    Datum args[2] = {Int64GetDatum(after_position), Int64GetDatum(limit)};
    run_kept_plan(fetch_events_statement, args, nullptr, false, 0, SPI_OK_SELECT);
    copy_messages(batch);
}

void fetch_outbox_messages(int64 limit, MessageBatch &batch)
{
    Datum args[1] = {Int64GetDatum(limit)};
    /* Not read-only: this transaction's own deletes of acknowledged rows must be visible. */
    run_kept_plan(fetch_outbox_statement, args, nullptr, false, 0, SPI_OK_SELECT);
    copy_messages(batch);
}

void record_settled_events(const SettledPrefix &prefix)
{
    if (prefix.count == 0)
        return;
    for (const DeadLetter &dead : prefix.dead_letters) {
        Datum args[3] = {Int64GetDatum(dead.id), CStringGetTextDatum(dead.error_code.c_str()),
                         CStringGetTextDatum(dead.error.c_str())};
        run_kept_plan(event_dead_letter_statement, args, nullptr, false, 0, SPI_OK_INSERT);
    }
    Datum args[1] = {Int64GetDatum(prefix.last_id)};
    run_kept_plan(advance_published_statement, args, nullptr, false, 0, SPI_OK_INSERT);
}

void record_settled_outbox(const SettledPrefix &prefix)
{
    if (prefix.count == 0)
        return;
    if (!prefix.acknowledged_ids.empty()) {
        const int count = static_cast<int>(prefix.acknowledged_ids.size());
        Datum *ids = static_cast<Datum *>(palloc(sizeof(Datum) * count));
        for (int i = 0; i < count; i++)
            ids[i] = Int64GetDatum(prefix.acknowledged_ids[i]);
        Datum args[1] = {PointerGetDatum(pg::array_of(ids, nullptr, count, INT8OID))};
        run_kept_plan(delete_outbox_statement, args, nullptr, false, 0, SPI_OK_DELETE);
    }
    for (const DeadLetter &dead : prefix.dead_letters) {
        Datum args[3] = {Int64GetDatum(dead.id), CStringGetTextDatum(dead.error_code.c_str()),
                         CStringGetTextDatum(dead.error.c_str())};
        run_kept_plan(outbox_dead_letter_statement, args, nullptr, false, 0, SPI_OK_INSERT);
    }
}

}  // namespace eventstore::worker
