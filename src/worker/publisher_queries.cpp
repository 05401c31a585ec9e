/*
 * publisher_queries.cpp — SPI statements of the Kafka publisher (see the header).
 *
 * The Kafka form of an event (topic, key, CloudEvents and es_* headers) is
 * defined once, in SQL, by the eventstore.event_messages view; both the
 * publisher and the dead-letter path read it.
 */
#include "publisher_queries.h"

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

using pg::prepare_kept;


SPIPlanPtr fetch_events_plan()
{
    static SPIPlanPtr plan = nullptr;
    if (plan == nullptr) {
        Oid types[] = {INT8OID, INT8OID};
        /*
         * The next positions first (a range of the log_positions primary
         * key), then each one's message by primary-key lookups.  OFFSET 0
         * keeps the lateral subquery from being merged into a join whose
         * method the planner would pick from statistics: when they were
         * missing or stale it chose to hash the whole event log, turning a
         * 10,000-row read into seconds as the log grew.  This shape costs
         * the same whatever the statistics say.
         *
         * Planned once (a generic plan), not for each read: the view's
         * joins took about 1 ms to plan, a third of the worker's CPU at
         * 5,000 events/s.  The plan is rebuilt whenever autovacuum analyzes
         * or vacuums a table it reads (the worker reports its statistics,
         * see worker_main.cpp), so a plan made while the log was empty does
         * not outlive the log's growth.
         */
        plan = prepare_kept("SELECT m.global_position, m.topic, m.key, m.payload::text, m.header_names, "
                            "       m.header_values "
                            "FROM (SELECT global_position FROM eventstore.log_positions "
                            "      WHERE global_position > $1 ORDER BY global_position LIMIT $2) next "
                            "CROSS JOIN LATERAL (SELECT * FROM eventstore.event_messages m "
                            "                    WHERE m.global_position = next.global_position OFFSET 0) m "
                            "ORDER BY next.global_position",
                            2, types, CURSOR_OPT_GENERIC_PLAN);
    }
    return plan;
}

SPIPlanPtr fetch_outbox_plan()
{
    static SPIPlanPtr plan = nullptr;
    if (plan == nullptr) {
        Oid types[] = {INT8OID};
        /* es_outbox_id lets consumers drop the duplicates at-least-once allows. */
        plan = prepare_kept("SELECT o.message_id, o.topic, o.key, o.payload::text, hs.names, hs.vals "
                            "FROM (SELECT message_id, topic, key, payload, "
                            "             headers || pg_catalog.jsonb_build_object('es_outbox_id', message_id::text) AS headers "
                            "      FROM eventstore.outbox ORDER BY message_id LIMIT $1) o "
                            "LEFT JOIN LATERAL (SELECT pg_catalog.array_agg(h.key) AS names, pg_catalog.array_agg(h.value) AS vals "
                            "                   FROM pg_catalog.jsonb_each_text(o.headers) h) hs ON true "
                            "ORDER BY o.message_id",
                            1, types);
    }
    return plan;
}

/* Copies rows (id, topic, key, payload, header names, header values) into `batch`. */
void copy_messages(MessageBatch &batch)
{
    SPITupleTable *rows = SPI_tuptable;
    for (uint64 i = 0; i < SPI_processed; i++) {
        HeapTuple row = rows->vals[i];
        bool isnull;
        kafka::OutgoingMessage &message =
            batch.append(DatumGetInt64(SPI_getbinval(row, rows->tupdesc, 1, &isnull)));
        pg::assign_text(message.topic, SPI_getbinval(row, rows->tupdesc, 2, &isnull));
        const Datum key = SPI_getbinval(row, rows->tupdesc, 3, &isnull);
        message.has_key = !isnull;
        if (!isnull)
            pg::assign_text(message.key, key);
        pg::assign_text(message.value, SPI_getbinval(row, rows->tupdesc, 4, &isnull));

        bool names_null, values_null;
        const Datum names = SPI_getbinval(row, rows->tupdesc, 5, &names_null);
        const Datum values = SPI_getbinval(row, rows->tupdesc, 6, &values_null);
        if (names_null || values_null) {
            message.headers.clear(); /* no headers */
            continue;
        }
        Datum *name_items, *value_items;
        bool *name_nulls, *value_nulls;
        int name_count, value_count;
        deconstruct_array(DatumGetArrayTypeP(names), TEXTOID, -1, false, TYPALIGN_INT, &name_items, &name_nulls,
                          &name_count);
        deconstruct_array(DatumGetArrayTypeP(values), TEXTOID, -1, false, TYPALIGN_INT, &value_items, &value_nulls,
                          &value_count);
        message.headers.resize(static_cast<size_t>(name_count));
        for (int h = 0; h < name_count && h < value_count; h++) {
            pg::assign_text(message.headers[h].first, name_items[h]);
            if (value_nulls[h])
                message.headers[h].second.clear();
            else
                pg::assign_text(message.headers[h].second, value_items[h]);
        }
    }
}

}  // namespace

int64 load_published_position()
{
    /* No row yet (nothing ever published) means position 0. */
    pg::run_sql("SELECT coalesce((SELECT published_position FROM eventstore.publisher_state), 0)", SPI_OK_SELECT);
    bool isnull;
    return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

void fetch_event_messages(int64 after_position, int64 limit, MessageBatch &batch)
{
    Datum args[2] = {Int64GetDatum(after_position), Int64GetDatum(limit)};
    if (SPI_execute_plan(fetch_events_plan(), args, nullptr, false, 0) != SPI_OK_SELECT)
        ereport(ERROR, (errmsg("pg_eventstore publisher: reading event messages failed")));
    copy_messages(batch);
}

void fetch_outbox_messages(int64 limit, MessageBatch &batch)
{
    Datum args[1] = {Int64GetDatum(limit)};
    /* Not read-only: this transaction's own deletes of acknowledged rows must be visible. */
    if (SPI_execute_plan(fetch_outbox_plan(), args, nullptr, false, 0) != SPI_OK_SELECT)
        ereport(ERROR, (errmsg("pg_eventstore publisher: reading the outbox failed")));
    copy_messages(batch);
}

void record_settled_events(const SettledPrefix &prefix)
{
    static SPIPlanPtr dead_letter_plan = nullptr;
    static SPIPlanPtr advance_plan = nullptr;
    if (prefix.count == 0)
        return;
    if (dead_letter_plan == nullptr) {
        Oid types[] = {INT8OID, TEXTOID, TEXTOID};
        dead_letter_plan = prepare_kept(
            "INSERT INTO eventstore.dead_letters "
            "  (source, global_position, event_id, topic, key, payload, headers, error_code, error) "
            "SELECT 'event', m.global_position, m.event_id, m.topic, m.key, m.payload, m.headers, $2, $3 "
            "FROM eventstore.event_messages m WHERE m.global_position = $1",
            3, types);
        Oid advance_types[] = {INT8OID};
        advance_plan = prepare_kept("INSERT INTO eventstore.publisher_state AS s (published_position) VALUES ($1) "
                                    "ON CONFLICT (singleton) DO UPDATE "
                                    "SET published_position = excluded.published_position, updated_at = pg_catalog.now() "
                                    "WHERE s.published_position < excluded.published_position",
                                    1, advance_types);
    }
    for (const DeadLetter &dead : prefix.dead_letters) {
        Datum args[3] = {Int64GetDatum(dead.id), CStringGetTextDatum(dead.error_code.c_str()),
                         CStringGetTextDatum(dead.error.c_str())};
        if (SPI_execute_plan(dead_letter_plan, args, nullptr, false, 0) != SPI_OK_INSERT)
            ereport(ERROR, (errmsg("pg_eventstore publisher: recording a dead letter failed")));
    }
    Datum args[1] = {Int64GetDatum(prefix.last_id)};
    if (SPI_execute_plan(advance_plan, args, nullptr, false, 0) != SPI_OK_INSERT)
        ereport(ERROR, (errmsg("pg_eventstore publisher: advancing the published position failed")));
}

void record_settled_outbox(const SettledPrefix &prefix)
{
    static SPIPlanPtr delete_plan = nullptr;
    static SPIPlanPtr dead_letter_plan = nullptr;
    if (prefix.count == 0)
        return;
    if (delete_plan == nullptr) {
        Oid types[] = {INT8ARRAYOID};
        delete_plan = prepare_kept("DELETE FROM eventstore.outbox WHERE message_id = ANY ($1)", 1, types);
        Oid dead_types[] = {INT8OID, TEXTOID, TEXTOID};
        dead_letter_plan = prepare_kept(
            "WITH moved AS (DELETE FROM eventstore.outbox WHERE message_id = $1 RETURNING *) "
            "INSERT INTO eventstore.dead_letters (source, topic, key, payload, headers, error_code, error) "
            "SELECT 'outbox', topic, key, payload, headers, $2, $3 FROM moved",
            3, dead_types);
    }
    if (!prefix.acknowledged_ids.empty()) {
        const int count = static_cast<int>(prefix.acknowledged_ids.size());
        Datum *ids = static_cast<Datum *>(palloc(sizeof(Datum) * count));
        for (int i = 0; i < count; i++)
            ids[i] = Int64GetDatum(prefix.acknowledged_ids[i]);
        Datum args[1] = {PointerGetDatum(pg::array_of(ids, nullptr, count, INT8OID))};
        if (SPI_execute_plan(delete_plan, args, nullptr, false, 0) != SPI_OK_DELETE)
            ereport(ERROR, (errmsg("pg_eventstore publisher: deleting published outbox messages failed")));
    }
    for (const DeadLetter &dead : prefix.dead_letters) {
        Datum args[3] = {Int64GetDatum(dead.id), CStringGetTextDatum(dead.error_code.c_str()),
                         CStringGetTextDatum(dead.error.c_str())};
        if (SPI_execute_plan(dead_letter_plan, args, nullptr, false, 0) < 0)
            ereport(ERROR, (errmsg("pg_eventstore publisher: recording an outbox dead letter failed")));
    }
}

}  // namespace eventstore::worker
