/*
 * log_writer.cpp — see log_writer.h.
 *
 * Columns are found by name in the table's descriptor on every call (a
 * dozen string compares): no cache to invalidate, and a column a later
 * version adds is written as NULL until this code knows it.
 */
#include "log_writer.h"

#include "extension_relation.h"

extern "C" {
#include "access/genam.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/index.h"
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

void insert_event_rows(text *stream_id, const EventRow *events, int count, TimestampTz now)
{
    WritableTable log;
    open_writable(&log, "events");
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

    /* Taken with the stream's head held: within a stream, insert order is version order. */
    const int64 insert_seq = nextval_internal(required_relation("insert_seq"), false);
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
