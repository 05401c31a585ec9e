/*
 * log_writer.cpp — see log_writer.h.
 *
 * Columns are found by name in the table's descriptor on every call (a
 * dozen string compares): no cache to invalidate, and a column a later
 * version adds is written as NULL until this code knows it.
 */
#include "log_writer.h"

#include "extension_relation.h"
#include "kept_plan.h"
#include "spi_helpers.h"

extern "C" {
#include "access/genam.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/pg_type.h"
#include "catalog/pg_trigger.h"
#include "commands/trigger.h"
#include "commands/sequence.h"
#include "executor/executor.h"
#include "nodes/execnodes.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/xid8.h"
}

namespace eventstore::pg {
namespace {

Oid required_relation(const char *name)
{
    const Oid relation = extension_relation(name);
    if (!OidIsValid(relation))
        ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE), errmsg("pg_eventstore: eventstore.%s is missing", name)));
    return relation;
}

/* 0-based index of a column in a descriptor. */
int column(TupleDesc desc, const char *name)
{
    for (int i = 0; i < desc->natts; i++) {
        const Form_pg_attribute attribute = TupleDescAttr(desc, i);
        if (!attribute->attisdropped && strcmp(NameStr(attribute->attname), name) == 0)
            return i;
    }
    ereport(ERROR, (errcode(ERRCODE_UNDEFINED_COLUMN), errmsg("pg_eventstore: column %s is missing", name)));
    pg_unreachable();
}

/* A table opened for writing with its indexes, as an INSERT's executor would hold it. */
struct WritableTable {
    Relation table;
    EState *estate;
    ResultRelInfo *result;
    TupleTableSlot *slot;
};

void open_writable(WritableTable *target, const char *name)
{
    target->table = table_open(required_relation(name), RowExclusiveLock);
    target->estate = CreateExecutorState();
    target->result = makeNode(ResultRelInfo);
    InitResultRelInfo(target->result, target->table, 0, nullptr, 0);
    ExecOpenIndices(target->result, false);
    target->slot = table_slot_create(target->table, nullptr);
}

void close_writable(WritableTable *target)
{
    ExecDropSingleTupleTableSlot(target->slot);
    ExecCloseIndices(target->result);
    FreeExecutorState(target->estate);
    table_close(target->table, NoLock);
}

/* Index entries for the row in target->slot, with every unique index checked. */
void insert_index_entries(WritableTable *target)
{
    List *conflicts =
        ExecInsertIndexTuples(target->result, target->slot, target->estate, false, false, nullptr, NIL);
    list_free(conflicts);
    ResetPerTupleExprContext(target->estate);
}

}  // namespace

void push_head_snapshot()
{
    PushCopiedSnapshot(IsolationUsesXactSnapshot() ? GetTransactionSnapshot() : GetLatestSnapshot());
    UpdateActiveSnapshotCommandId();
}

void read_stream_head(text *stream_id, StreamHead *head)
{
    Relation streams = table_open(required_relation("streams"), RowExclusiveLock);
    Relation index = index_open(required_relation("streams_pkey"), RowExclusiveLock);
    ScanKeyData key;
    ScanKeyEntryInitialize(&key, 0, 1, BTEqualStrategyNumber, InvalidOid, index->rd_indcollation[0], F_TEXTEQ,
                           PointerGetDatum(stream_id));
    IndexScanDesc scan = index_beginscan(streams, index, GetActiveSnapshot(), 1, 0);
    index_rescan(scan, &key, 1, nullptr, 0);
    TupleTableSlot *slot = table_slot_create(streams, nullptr);
    head->exists = index_getnext_slot(scan, ForwardScanDirection, slot);
    if (head->exists) {
        const TupleDesc desc = RelationGetDescr(streams);
        bool isnull;
        head->row = slot->tts_tid;
        head->version = DatumGetInt64(slot_getattr(slot, column(desc, "version") + 1, &isnull));
        hash_from_bytea(DatumGetByteaPP(slot_getattr(slot, column(desc, "head_hash") + 1, &isnull)), "head_hash",
                        head->hash);
    }
    ExecDropSingleTupleTableSlot(slot);
    index_endscan(scan);
    index_close(index, NoLock);
    table_close(streams, NoLock);
}

bool move_stream_head(text *stream_id, const StreamHead *head, int64 version, const uint8 *hash, TimestampTz now)
{
    WritableTable streams;
    open_writable(&streams, "streams");
    const TupleDesc desc = RelationGetDescr(streams.table);

    /* The new row: the one the head was read from, with version, hash and time moved. */
    TupleTableSlot *old_row = table_slot_create(streams.table, nullptr);
    if (!table_tuple_fetch_row_version(streams.table, const_cast<ItemPointer>(&head->row), SnapshotAny, old_row))
        ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("pg_eventstore: the stream head row vanished")));
    slot_getallattrs(old_row);
    ExecClearTuple(streams.slot);
    memcpy(streams.slot->tts_values, old_row->tts_values, sizeof(Datum) * desc->natts);
    memcpy(streams.slot->tts_isnull, old_row->tts_isnull, sizeof(bool) * desc->natts);
    streams.slot->tts_values[column(desc, "version")] = Int64GetDatum(version);
    streams.slot->tts_values[column(desc, "head_hash")] = PointerGetDatum(hash_to_bytea(hash));
    streams.slot->tts_values[column(desc, "updated_at")] = TimestampTzGetDatum(now);
    ExecStoreVirtualTuple(streams.slot);

    TM_FailureData failure;
    LockTupleMode lock_mode;
    bool update_indexes = false;
    const TM_Result result =
        table_tuple_update(streams.table, const_cast<ItemPointer>(&head->row), streams.slot,
                           GetCurrentCommandId(true), InvalidSnapshot, InvalidSnapshot, true, &failure,
                           &lock_mode, &update_indexes);
    bool moved = false;
    switch (result) {
    case TM_Ok:
        if (update_indexes)
            insert_index_entries(&streams);
        moved = true;
        break;
    case TM_Updated:
    case TM_Deleted:
        if (IsolationUsesXactSnapshot())
            ereport(ERROR, (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
                            errmsg("could not serialize access due to concurrent update"),
                            errdetail("Another transaction appended to stream \"%s\" first.",
                                      text_to_cstring(stream_id))));
        break;
    default:
        ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
                        errmsg("pg_eventstore: unexpected result %d moving the head of stream \"%s\"", (int)result,
                               text_to_cstring(stream_id))));
    }
    ExecDropSingleTupleTableSlot(old_row);
    close_writable(&streams);
    if (moved)
        CommandCounterIncrement();
    return moved;
}

namespace {

/*
 * Whether eventstore.events has insert triggers of its owner's making (any
 * but the extension's own restore stamp).  They are a way to react to events
 * that people use (and that make bench compares projections with), and the
 * access-method path fires no trigger, so with one present the events go in
 * by an INSERT statement, which fires them all.
 */
bool has_user_insert_triggers(Relation events)
{
    const TriggerDesc *triggers = events->trigdesc;
    if (triggers == nullptr)
        return false;
    for (int i = 0; i < triggers->numtriggers; i++) {
        const Trigger *trigger = &triggers->triggers[i];
        if (TRIGGER_FOR_INSERT(trigger->tgtype) && strcmp(trigger->tgname, "events_stamp_restored") != 0)
            return true;
    }
    return false;
}

KeptPlan insert_by_statement = {
    "INSERT INTO eventstore.events (stream_id, stream_version, event_id, event_type, schema_version,"
    "    data, metadata, event_time, ingest_time, hash, xid, insert_seq) "
    "SELECT $1, u.version, u.event_id, u.event_type, u.schema_version, u.data, u.metadata, u.event_time, $2,"
    "    u.hash, pg_catalog.pg_current_xact_id(), $3 "
    "FROM unnest($4, $5, $6, $7, $8, $9, $10, $11)"
    "    AS u(version, event_id, event_type, schema_version, data, metadata, event_time, hash)",
    11,
    {TEXTOID, TIMESTAMPTZOID, INT8OID, INT8ARRAYOID, UUIDARRAYOID, TEXTARRAYOID, INT4ARRAYOID, JSONBARRAYOID,
     JSONBARRAYOID, TIMESTAMPTZARRAYOID, BYTEAARRAYOID}};

/* The events as one INSERT statement (triggers fire); needs an SPI connection. */
void insert_rows_by_statement(text *stream_id, const EventRow *events, int count, TimestampTz now, int64 insert_seq)
{
    Datum *versions = (Datum *)palloc(sizeof(Datum) * count);
    Datum *ids = (Datum *)palloc(sizeof(Datum) * count);
    Datum *types = (Datum *)palloc(sizeof(Datum) * count);
    Datum *schema_versions = (Datum *)palloc(sizeof(Datum) * count);
    Datum *datas = (Datum *)palloc(sizeof(Datum) * count);
    Datum *metadatas = (Datum *)palloc(sizeof(Datum) * count);
    bool *metadata_nulls = (bool *)palloc(sizeof(bool) * count);
    Datum *times = (Datum *)palloc(sizeof(Datum) * count);
    Datum *hashes = (Datum *)palloc(sizeof(Datum) * count);
    for (int i = 0; i < count; i++) {
        versions[i] = Int64GetDatum(events[i].stream_version);
        ids[i] = UUIDPGetDatum(events[i].event_id);
        types[i] = PointerGetDatum(events[i].event_type);
        schema_versions[i] = Int32GetDatum(events[i].schema_version);
        datas[i] = JsonbPGetDatum(events[i].data);
        metadata_nulls[i] = events[i].metadata == nullptr;
        metadatas[i] = metadata_nulls[i] ? (Datum)0 : JsonbPGetDatum(events[i].metadata);
        times[i] = TimestampTzGetDatum(events[i].event_time);
        hashes[i] = PointerGetDatum(hash_to_bytea(events[i].hash));
    }
    Datum args[11] = {PointerGetDatum(stream_id),
                      TimestampTzGetDatum(now),
                      Int64GetDatum(insert_seq),
                      PointerGetDatum(array_of(versions, nullptr, count, INT8OID)),
                      PointerGetDatum(array_of(ids, nullptr, count, UUIDOID)),
                      PointerGetDatum(array_of(types, nullptr, count, TEXTOID)),
                      PointerGetDatum(array_of(schema_versions, nullptr, count, INT4OID)),
                      PointerGetDatum(array_of(datas, nullptr, count, JSONBOID)),
                      PointerGetDatum(array_of(metadatas, metadata_nulls, count, JSONBOID)),
                      PointerGetDatum(array_of(times, nullptr, count, TIMESTAMPTZOID)),
                      PointerGetDatum(array_of(hashes, nullptr, count, BYTEAOID))};
    run_kept_plan(insert_by_statement, args, nullptr, false, 0, SPI_OK_INSERT);
}

}  // namespace

void insert_event_rows(text *stream_id, const EventRow *events, int count, TimestampTz now)
{
    /* Taken with the stream's head held: within a stream, insert order is version order. */
    const int64 insert_seq = nextval_internal(required_relation("insert_seq"), false);
    WritableTable log;
    open_writable(&log, "events");
    if (has_user_insert_triggers(log.table)) {
        close_writable(&log);
        insert_rows_by_statement(stream_id, events, count, now, insert_seq);
        return;
    }
    const TupleDesc desc = RelationGetDescr(log.table);
    const int c_stream_id = column(desc, "stream_id");
    const int c_stream_version = column(desc, "stream_version");
    const int c_event_id = column(desc, "event_id");
    const int c_event_type = column(desc, "event_type");
    const int c_schema_version = column(desc, "schema_version");
    const int c_data = column(desc, "data");
    const int c_metadata = column(desc, "metadata");
    const int c_event_time = column(desc, "event_time");
    const int c_ingest_time = column(desc, "ingest_time");
    const int c_hash = column(desc, "hash");
    const int c_xid = column(desc, "xid");
    const int c_insert_seq = column(desc, "insert_seq");

    const Datum xid = FullTransactionIdGetDatum(GetTopFullTransactionId());
    const CommandId command = GetCurrentCommandId(true);
    for (int i = 0; i < count; i++) {
        const EventRow *event = &events[i];
        TupleTableSlot *slot = log.slot;
        ExecClearTuple(slot);
        for (int c = 0; c < desc->natts; c++)
            slot->tts_isnull[c] = true;
        auto set = [slot](int c, Datum value) {
            slot->tts_values[c] = value;
            slot->tts_isnull[c] = false;
        };
        set(c_stream_id, PointerGetDatum(stream_id));
        set(c_stream_version, Int64GetDatum(event->stream_version));
        set(c_event_id, UUIDPGetDatum(event->event_id));
        set(c_event_type, PointerGetDatum(event->event_type));
        set(c_schema_version, Int32GetDatum(event->schema_version));
        set(c_data, JsonbPGetDatum(event->data));
        if (event->metadata != nullptr)
            set(c_metadata, JsonbPGetDatum(event->metadata));
        set(c_event_time, TimestampTzGetDatum(event->event_time));
        set(c_ingest_time, TimestampTzGetDatum(now));
        set(c_hash, PointerGetDatum(hash_to_bytea(event->hash)));
        set(c_xid, xid);
        set(c_insert_seq, Int64GetDatum(insert_seq));
        ExecStoreVirtualTuple(slot);
        table_tuple_insert(log.table, slot, command, 0, nullptr);
        insert_index_entries(&log);
    }
    close_writable(&log);
    CommandCounterIncrement();
}

}  // namespace eventstore::pg
