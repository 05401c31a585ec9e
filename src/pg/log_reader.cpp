/*
 * log_reader.cpp — eventstore.read_stream(), read_category() and read_all():
 * the log read straight from its indexes.
 *
 * Why in C: as PL/pgSQL, read_stream's query went to a generic plan after
 * five calls whose join compared every event with every position row of the
 * stream (quadratic: 38 ms for 1,000 events against 4.6 ms for a plain
 * SELECT), and every row paid a LATERAL call to upcast plus PL/pgSQL's
 * RETURN QUERY copy.  Here each read is the plan a person would write, fixed
 * in code so no plan cache mode can change it:
 *
 *   read_stream    one range scan of events' primary key (stream_id,
 *                  stream_version >= from) merged with one range scan of the
 *                  stream's position rows (log_positions_event_key).  The
 *                  sequencer gives a stream's versions their positions in
 *                  version order, so both scans walk the same versions and
 *                  an event not sequenced yet gets a NULL position;
 *   read_category  a range scan of log_positions_category_idx (category,
 *   read_all       global_position > after) or of log_positions_pkey, each
 *                  position's event then fetched by its primary key.
 *
 * Rows go to the caller's tuplestore (SFRM_Materialize), which spills to
 * disk past work_mem, so max_count = 2^31-1 reads a log of any size in
 * bounded memory.  Each row is upcast (upcast.h) before it is stored.
 *
 * The scans run under the calling query's snapshot and with the caller's
 * privileges: SELECT on events and log_positions is checked here as a query
 * would (eventstore_reader has it).  A scan below SQL would bypass row-level
 * security, so a table with row-level security enabled is refused.
 */
#include "pg_includes.h"

#include "extension_relation.h"
#include "upcast.h"

extern "C" {
#include "access/genam.h"
#include "access/heapam.h"
#include "access/itup.h"
#include "access/visibilitymap.h"
#include "access/relscan.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "executor/tuptable.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/execnodes.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "storage/bufmgr.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"
#include "utils/tuplestore.h"
}

namespace eventstore::pg {
namespace {

/* eventstore.event_record's columns, in its order. */
enum EventRecordColumn {
    kGlobalPosition,
    kStreamId,
    kStreamVersion,
    kEventId,
    kEventType,
    kSchemaVersion,
    kData,
    kMetadata,
    kEventTime,
    kIngestTime,
    kHash,
    kEventRecordColumns
};

/* events' column for each event_record column (0 for global_position, which events has not). */
const char *const kEventsColumnNames[kEventRecordColumns] = {
    nullptr,    "stream_id", "stream_version", "event_id",    "event_type", "schema_version",
    "data",     "metadata",  "event_time",     "ingest_time", "hash"};

/* One index range scan and the slot its rows land in. */
struct IndexRange {
    Relation index;
    IndexScanDesc scan;
    TupleTableSlot *slot;
    int key_count; /* fixed at open: a btree scan copies as many keys as it was begun with */
    ScanKeyData keys[2];
};

/* What one read has open: both tables, their column numbers, the output. */
struct LogRead {
    Relation events;
    Relation positions;
    AttrNumber events_columns[kEventRecordColumns];
    AttrNumber position_global_position;
    AttrNumber position_stream_id;
    AttrNumber position_stream_version;
    Snapshot snapshot;
    ReturnSetInfo *output;
    bool upcasting;
    MemoryContext per_row;
    int64 returned;
    int64 max_count;
};

Oid required_relation(const char *name)
{
    const Oid relation = extension_relation(name);
    if (!OidIsValid(relation))
        ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE), errmsg("pg_eventstore: eventstore.%s is missing", name)));
    return relation;
}

/* Opens a table for reading with the checks a SELECT of it would make. */
Relation open_for_reading(const char *name)
{
    const Oid relation = required_relation(name);
    const AclResult access = pg_class_aclcheck(relation, GetUserId(), ACL_SELECT);
    if (access != ACLCHECK_OK)
        aclcheck_error(access, OBJECT_TABLE, name);
    if (check_enable_rls(relation, InvalidOid, false) == RLS_ENABLED)
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                        errmsg("eventstore.%s has row-level security enabled, which the read functions do not apply",
                               name),
                        errhint("Query the table with SQL instead, or disable row-level security on it.")));
    return table_open(relation, AccessShareLock);
}

AttrNumber column_number(Relation table, const char *column)
{
    const AttrNumber number = get_attnum(RelationGetRelid(table), column);
    if (number == InvalidAttrNumber)
        ereport(ERROR, (errcode(ERRCODE_UNDEFINED_COLUMN),
                        errmsg("pg_eventstore: column %s of %s is missing", column, RelationGetRelationName(table))));
    return number;
}

void begin_read(LogRead *read, FunctionCallInfo fcinfo, int64 max_count)
{
    read->events = open_for_reading("events");
    read->positions = open_for_reading("log_positions");
    for (int column = 0; column < kEventRecordColumns; column++)
        read->events_columns[column] =
            kEventsColumnNames[column] ? column_number(read->events, kEventsColumnNames[column]) : InvalidAttrNumber;
    read->position_global_position = column_number(read->positions, "global_position");
    read->position_stream_id = column_number(read->positions, "stream_id");
    read->position_stream_version = column_number(read->positions, "stream_version");
    read->snapshot = GetActiveSnapshot();
    InitMaterializedSRF(fcinfo, 0);
    read->output = (ReturnSetInfo *)fcinfo->resultinfo;
    read->upcasting = upcasters_registered();
    read->per_row = AllocSetContextCreate(CurrentMemoryContext, "pg_eventstore log read row", ALLOCSET_DEFAULT_SIZES);
    read->returned = 0;
    read->max_count = max_count;
}

void end_read(LogRead *read)
{
    MemoryContextDelete(read->per_row);
    table_close(read->positions, NoLock);
    table_close(read->events, NoLock);
}

/*
 * Sets one key of a range scan on the index's column `column` (1-based).
 * The index's own collation, not C: a text key compared under another
 * collation than the index was built with would walk the wrong pages.
 */
void set_key(IndexRange *range, int key, AttrNumber column, StrategyNumber strategy, RegProcedure comparison,
             Datum value)
{
    ScanKeyEntryInitialize(&range->keys[key], 0, column, strategy, InvalidOid,
                           range->index->rd_indcollation[column - 1], comparison, value);
}

void open_range(IndexRange *range, Relation table, const char *index_name, int key_count, const LogRead *read)
{
    range->index = index_open(required_relation(index_name), AccessShareLock);
    range->key_count = key_count;
    range->scan = index_beginscan(table, range->index, read->snapshot, key_count, 0);
    range->slot = table_slot_create(table, nullptr);
}

/*
 * A range of a position index whose entries read_positions() may use
 * without the heap: a btree scan keeps index tuples only when asked
 * before its first rescan.
 */
void open_position_range(IndexRange *range, const char *index_name, int key_count, const LogRead *read)
{
    open_range(range, read->positions, index_name, key_count, read);
    range->scan->xs_want_itup = true;
}

/* (Re)starts the range with its keys as set. */
void start_range(IndexRange *range)
{
    index_rescan(range->scan, range->keys, range->key_count, nullptr, 0);
}

bool next_in_range(IndexRange *range)
{
    return index_getnext_slot(range->scan, ForwardScanDirection, range->slot);
}

void close_range(IndexRange *range)
{
    index_endscan(range->scan);
    ExecDropSingleTupleTableSlot(range->slot);
    index_close(range->index, NoLock);
}

/* Returns an event from its events row, with its global position (NULL when it has none yet). */
void emit_event(LogRead *read, TupleTableSlot *event, Datum global_position, bool has_position)
{
    MemoryContext caller = MemoryContextSwitchTo(read->per_row);
    Datum values[kEventRecordColumns];
    bool nulls[kEventRecordColumns];
    values[kGlobalPosition] = global_position;
    nulls[kGlobalPosition] = !has_position;
    for (int column = kStreamId; column < kEventRecordColumns; column++)
        values[column] = slot_getattr(event, read->events_columns[column], &nulls[column]);
    if (read->upcasting)
        upcast_event_values(values, nulls);
    tuplestore_putvalues(read->output->setResult, read->output->setDesc, values, nulls);
    MemoryContextSwitchTo(caller);
    MemoryContextReset(read->per_row);
    read->returned++;
}

bool wants_more(const LogRead *read) { return read->returned < read->max_count; }

/* The events of one stream from a version on, merged with their positions. */
void read_stream_events(LogRead *read, text *stream_id, int64 from_version)
{
    IndexRange events;
    open_range(&events, read->events, "events_pkey", 2, read);
    set_key(&events, 0, 1, BTEqualStrategyNumber, F_TEXTEQ, PointerGetDatum(stream_id));
    set_key(&events, 1, 2, BTGreaterEqualStrategyNumber, F_INT8GE, Int64GetDatum(from_version));
    start_range(&events);

    IndexRange positions;
    open_range(&positions, read->positions, "log_positions_event_key", 2, read);
    set_key(&positions, 0, 1, BTEqualStrategyNumber, F_TEXTEQ, PointerGetDatum(stream_id));
    set_key(&positions, 1, 2, BTGreaterEqualStrategyNumber, F_INT8GE, Int64GetDatum(from_version));
    start_range(&positions);

    bool positions_left = true;
    bool have_position = false;
    int64 position_version = 0;
    Datum global_position = 0;
    while (wants_more(read) && next_in_range(&events)) {
        bool isnull;
        const int64 version =
            DatumGetInt64(slot_getattr(events.slot, read->events_columns[kStreamVersion], &isnull));
        while (positions_left && (!have_position || position_version < version)) {
            positions_left = next_in_range(&positions);
            have_position = positions_left;
            if (positions_left) {
                position_version =
                    DatumGetInt64(slot_getattr(positions.slot, read->position_stream_version, &isnull));
                global_position = slot_getattr(positions.slot, read->position_global_position, &isnull);
            }
        }
        emit_event(read, events.slot, global_position, have_position && position_version == version);
    }
    close_range(&positions);
    close_range(&events);
}

/*
 * Where events' rows are: from_position on, log_positions.event_row points
 * at each event's row while events keeps the file named in event_row_file
 * (the 0.2 script says why).  Anything else is found by primary key.
 */
struct RowPointers {
    bool usable;
    int64 from_position;
    BlockNumber blocks; /* events' size now: a pointer past it is not followed */
};

void load_row_pointers(const LogRead *read, RowPointers *pointers)
{
    *pointers = RowPointers{false, 0, 0};
    const Oid file_table = extension_relation("event_row_file");
    if (!OidIsValid(file_table))
        return;
    Relation table = table_open(file_table, AccessShareLock);
    TableScanDesc scan = table_beginscan(table, read->snapshot, 0, nullptr);
    TupleTableSlot *slot = table_slot_create(table, nullptr);
    if (table_scan_getnextslot(scan, ForwardScanDirection, slot)) {
        bool isnull;
        const Oid filenode = DatumGetObjectId(slot_getattr(slot, column_number(table, "filenode"), &isnull));
        pointers->from_position = DatumGetInt64(slot_getattr(slot, column_number(table, "from_position"), &isnull));
        pointers->usable = filenode == read->events->rd_node.relNode;
        pointers->blocks = RelationGetNumberOfBlocks(read->events);
    }
    ExecDropSingleTupleTableSlot(slot);
    table_endscan(scan);
    table_close(table, NoLock);
}

/* Fetches the event a trusted row pointer points at; false when it cannot be used. */
bool fetch_by_pointer(const LogRead *read, const RowPointers *pointers, int64 position, Datum row, bool row_is_null,
                      TupleTableSlot *event)
{
    if (!pointers->usable || row_is_null || position < pointers->from_position)
        return false;
    ItemPointerData at = *(ItemPointer)DatumGetPointer(row); /* tid is passed by reference */
    if (ItemPointerGetBlockNumber(&at) >= pointers->blocks)
        return false;
    return table_tuple_fetch_row_version(read->events, &at, read->snapshot, event);
}

/*
 * The events of a range of log positions, in global order: `positions` is
 * started on log_positions_pkey or log_positions_category_idx, whose
 * entries carry the position and the event's row (INCLUDE event_row).
 * Where the visibility map says a page of log_positions is all visible,
 * the index entry is enough (an index-only scan, as the executor makes
 * it); the event is then fetched by its row pointer, or else by primary
 * key with the stream id and version from the position's row.
 */
void read_positions(LogRead *read, IndexRange *positions, AttrNumber index_position_column,
                    AttrNumber index_row_column)
{
    RowPointers pointers;
    load_row_pointers(read, &pointers);
    IndexRange event;
    open_range(&event, read->events, "events_pkey", 2, read);
    TupleTableSlot *by_pointer = table_slot_create(read->events, nullptr);
    Buffer visibility = InvalidBuffer;
    const AttrNumber event_row_column = column_number(read->positions, "event_row");
    IndexScanDesc scan = positions->scan; /* opened with open_position_range() */
    ItemPointer entry;
    while (wants_more(read) && (entry = index_getnext_tid(scan, ForwardScanDirection)) != nullptr) {
        bool isnull;
        bool row_is_null;
        Datum global_position;
        Datum row;
        bool have_heap_row = false;
        if (VM_ALL_VISIBLE(read->positions, ItemPointerGetBlockNumber(entry), &visibility)) {
            global_position = index_getattr(scan->xs_itup, index_position_column, scan->xs_itupdesc, &isnull);
            row = index_getattr(scan->xs_itup, index_row_column, scan->xs_itupdesc, &row_is_null);
        } else {
            if (!index_fetch_heap(scan, positions->slot))
                continue; /* not visible to this read */
            have_heap_row = true;
            global_position = slot_getattr(positions->slot, read->position_global_position, &isnull);
            row = slot_getattr(positions->slot, event_row_column, &row_is_null);
        }
        if (fetch_by_pointer(read, &pointers, DatumGetInt64(global_position), row, row_is_null, by_pointer)) {
            emit_event(read, by_pointer, global_position, true);
            continue;
        }
        if (!have_heap_row && !index_fetch_heap(scan, positions->slot))
            continue;
        const Datum stream_id = slot_getattr(positions->slot, read->position_stream_id, &isnull);
        const Datum version = slot_getattr(positions->slot, read->position_stream_version, &isnull);
        set_key(&event, 0, 1, BTEqualStrategyNumber, F_TEXTEQ, stream_id);
        set_key(&event, 1, 2, BTEqualStrategyNumber, F_INT8EQ, version);
        start_range(&event);
        if (next_in_range(&event))
            emit_event(read, event.slot, global_position, true);
    }
    if (BufferIsValid(visibility))
        ReleaseBuffer(visibility);
    ExecDropSingleTupleTableSlot(by_pointer);
    close_range(&event);
}

/* ---- argument checks, with the messages of the SQL contract (docs/errors.md) ---- */

pg_attribute_noreturn() void report_null(const char *name)
{
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("%s must not be NULL", name)));
    pg_unreachable();
}

int32 checked_max_count(FunctionCallInfo fcinfo, int argument)
{
    if (PG_ARGISNULL(argument))
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("max_count must be a positive number, got NULL")));
    const int32 max_count = PG_GETARG_INT32(argument);
    if (max_count <= 0)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("max_count must be a positive number, got %d", max_count)));
    return max_count;
}

int64 checked_after_position(FunctionCallInfo fcinfo, int argument)
{
    if (PG_ARGISNULL(argument))
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("after_position must be 0 or more, got NULL")));
    const int64 after = PG_GETARG_INT64(argument);
    if (after < 0)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("after_position must be 0 or more, got %lld", (long long)after)));
    return after;
}

}  // namespace
}  // namespace eventstore::pg

using namespace eventstore::pg;

extern "C" {

PG_FUNCTION_INFO_V1(eventstore_read_stream);
PG_FUNCTION_INFO_V1(eventstore_read_category);
PG_FUNCTION_INFO_V1(eventstore_read_all);

/* eventstore.read_stream(stream_id, from_version DEFAULT 1, max_count DEFAULT 1000) */
Datum eventstore_read_stream(PG_FUNCTION_ARGS)
{
    if (PG_ARGISNULL(0))
        report_null("stream_id");
    if (PG_ARGISNULL(1) || PG_GETARG_INT64(1) < 1)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("from_version must be 1 or more, got %s",
                               PG_ARGISNULL(1) ? "NULL" : psprintf("%lld", (long long)PG_GETARG_INT64(1)))));
    const int32 max_count = checked_max_count(fcinfo, 2);

    LogRead read;
    begin_read(&read, fcinfo, max_count);
    read_stream_events(&read, PG_GETARG_TEXT_PP(0), PG_GETARG_INT64(1));
    end_read(&read);
    return (Datum)0;
}

/* eventstore.read_category(category, after_position DEFAULT 0, max_count DEFAULT 1000) */
Datum eventstore_read_category(PG_FUNCTION_ARGS)
{
    if (PG_ARGISNULL(0))
        report_null("category");
    const int64 after = checked_after_position(fcinfo, 1);
    const int32 max_count = checked_max_count(fcinfo, 2);

    LogRead read;
    begin_read(&read, fcinfo, max_count);
    IndexRange positions;
    open_position_range(&positions, "log_positions_category_idx", 2, &read);
    set_key(&positions, 0, 1, BTEqualStrategyNumber, F_TEXTEQ, PointerGetDatum(PG_GETARG_TEXT_PP(0)));
    set_key(&positions, 1, 2, BTGreaterStrategyNumber, F_INT8GT, Int64GetDatum(after));
    start_range(&positions);
    read_positions(&read, &positions, 2, 3); /* (category, global_position) INCLUDE (event_row) */
    close_range(&positions);
    end_read(&read);
    return (Datum)0;
}

/* eventstore.read_all(after_position DEFAULT 0, max_count DEFAULT 1000) */
Datum eventstore_read_all(PG_FUNCTION_ARGS)
{
    const int64 after = checked_after_position(fcinfo, 0);
    const int32 max_count = checked_max_count(fcinfo, 1);

    LogRead read;
    begin_read(&read, fcinfo, max_count);
    IndexRange positions;
    open_position_range(&positions, "log_positions_pkey", 1, &read);
    set_key(&positions, 0, 1, BTGreaterStrategyNumber, F_INT8GT, Int64GetDatum(after));
    start_range(&positions);
    read_positions(&read, &positions, 1, 2); /* (global_position) INCLUDE (event_row) */
    close_range(&positions);
    end_read(&read);
    return (Datum)0;
}

}  // extern "C"
