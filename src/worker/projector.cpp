/*
 * projector.cpp — applies the sequenced log to the registered projections
 * (eventstore.projections; docs/projections.md).
 *
 * A batch of one projection runs in one transaction of its own:
 *   1. lock the projection's row and check it is still where this round
 *      thinks (state active, position unchanged);
 *   2. read the events after its position, up to kScanWindow positions on,
 *      in global order, through its event_types / categories filters (a
 *      stretch that matches nothing still moves the position);
 *   3. run the projection's code as its owner, never as the worker's
 *      superuser: the role switch is a security-restricted operation (no
 *      SET ROLE inside), and the search_path is the projection's schema,
 *      then pg_catalog, so the code names its tables unqualified:
 *        event  handler(e)   once per event, in order
 *        batch  handler(es)  once, with the batch's events in order
 *        sql    statements   once, over the batch as the relation `batch`
 *                            (an ephemeral named relation, like a statement
 *                            trigger's transition table);
 *   4. move the position to the end of the scanned stretch, and commit.
 * The read model's changes and the position commit together or not at
 * all, so after any crash each event's effect is there exactly once.
 * Rolled-back appends are never sequenced, so they never reach here.
 *
 * When a batch fails, it is rolled back and its events are applied again
 * one per transaction, so the events before the failing one still land
 * and the failure is pinned to one event: 'halt' stops the projection there
 * (state failed, error_position), 'skip' records the event in
 * eventstore.projection_errors and moves past it.
 *
 * A projection being rebuilt (rebuild_projection) gets a second stream of
 * batches into its rebuild schema, from position 0; once the copy has
 * caught up with the live position, one short transaction swaps the two
 * schemas by renaming them, under a short lock_timeout so it never queues
 * behind long readers (it tries again next round), and drops the old copy.
 *
 * C-style glue with plain-data locals: every SPI call may ereport(ERROR).
 */
#include "projector.h"

#include <cstring>

#include "job_slot.h"
#include "job_transaction.h"
#include "pg/kept_plan.h"
#include "pg/spi_helpers.h"
#include "shared_state.h"

extern "C" {
#include "access/htup_details.h"
#include "access/transam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/queryenvironment.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
#include "utils/syscache.h"
#include "utils/catcache.h"
#include "utils/snapmgr.h"
#include "utils/typcache.h"
}

namespace eventstore::worker {
namespace {

using pg::kept_plan;
using pg::KeptPlan;
using pg::run_kept_plan;

/* Positions one batch covers at most. */
constexpr int64 kScanWindow = 5000;
/* How long the schema swap at the end of a rebuild waits for a lock before it tries again next round. */
constexpr const char *kSwapLockTimeout = "100ms";

enum HandlerKind { kEventHandler, kBatchHandler, kSqlStatements };

/* One active projection, as read at the start of the round.  Plain data in the round's memory. */
struct Projection {
    char *name;
    Oid handler;
    HandlerKind kind;
    char *sql;
    ArrayType *event_types; /* NULL: all */
    ArrayType *categories;  /* NULL: all */
    char *schema;
    bool skip_errors;
    Oid owner;
    bool active;     /* running or rebuilding; others only show their position */
    bool rebuilding;
    int64 position;
    int64 rebuild_position;
    char *rebuild_schema;
};

/* Where a batch goes: the live schema and position, or the rebuild's. */
struct Target {
    const char *schema;
    bool rebuild;
};

/* What a failed batch left behind (plain data, copied out of the error). */
struct Failure {
    char sqlstate[6];
    char *message;
};

KeptPlan active_projections_statement = {
    "SELECT name, handler::oid, handler_kind, sql, event_types, categories, schema_name::text, "
    "       on_error = 'skip', owner_role::oid, state = 'rebuilding', \"position\", "
    "       coalesce(rebuild_position, 0), rebuild_schema::text "
    "       , state IN ('running', 'rebuilding') "
    "FROM eventstore.projections ORDER BY name",
    0,
    {}};

KeptPlan lock_projection_statement = {
    "SELECT \"position\", coalesce(rebuild_position, -1), state FROM eventstore.projections "
    "WHERE name = $1 FOR UPDATE",
    1,
    {TEXTOID}};

/*
 * The events of (from, to] that pass the projection's filters, as
 * eventstore.event_record values upcast to their newest schema version
 * (each upcaster runs as its owner; the filters see the stored type).
 */
KeptPlan batch_events_statement = {
    "SELECT eventstore.upcast(s.event) FROM eventstore.sequenced_events s "
    "WHERE s.global_position > $1 AND s.global_position <= $2 "
    "  AND ($3::text[] IS NULL OR (s.event).event_type = ANY ($3)) "
    "  AND ($4::text[] IS NULL OR s.category = ANY ($4)) "
    "ORDER BY s.global_position",
    4,
    {INT8OID, INT8OID, TEXTARRAYOID, TEXTARRAYOID},
    CURSOR_OPT_CUSTOM_PLAN};

/* The highest position the sequencer has committed, as this transaction sees it. */
KeptPlan sequenced_head_statement = {
    "SELECT coalesce(pg_catalog.max(global_position), 0) FROM eventstore.log_positions", 0, {}};

KeptPlan advance_statement = {
    "UPDATE eventstore.projections SET \"position\" = $2, updated_at = pg_catalog.now() WHERE name = $1", 2,
    {TEXTOID, INT8OID}};

KeptPlan advance_rebuild_statement = {
    "UPDATE eventstore.projections SET rebuild_position = $2, updated_at = pg_catalog.now() WHERE name = $1", 2,
    {TEXTOID, INT8OID}};

KeptPlan halt_statement = {
    "UPDATE eventstore.projections SET state = 'failed', last_error = $2, error_position = $3, "
    "       updated_at = pg_catalog.now() WHERE name = $1",
    3,
    {TEXTOID, TEXTOID, INT8OID}};

KeptPlan record_skipped_statement = {
    "INSERT INTO eventstore.projection_errors (projection, global_position, event_id, sqlstate, error) "
    "SELECT $1, p.global_position, e.event_id, $3, $4 FROM eventstore.log_positions p "
    "JOIN eventstore.events e USING (stream_id, stream_version) WHERE p.global_position = $2 "
    "ON CONFLICT DO NOTHING",
    4,
    {TEXTOID, INT8OID, TEXTOID, TEXTOID}};

/* Positions of (from, to] that pass the filters: the single steps after a failed batch. */
KeptPlan batch_positions_statement = {
    "SELECT s.global_position FROM eventstore.sequenced_events s "
    "WHERE s.global_position > $1 AND s.global_position <= $2 "
    "  AND ($3::text[] IS NULL OR (s.event).event_type = ANY ($3)) "
    "  AND ($4::text[] IS NULL OR s.category = ANY ($4)) "
    "ORDER BY s.global_position",
    4,
    {INT8OID, INT8OID, TEXTARRAYOID, TEXTARRAYOID}};

/* A statement built at run time (schema names), run once. */
void run_utility(const char *sql)
{
    const int rc = SPI_execute(sql, false, 0);
    if (rc < 0)
        ereport(ERROR, (errmsg("pg_eventstore projector: \"%s\" failed: %s", sql, SPI_result_code_string(rc))));
}

char *copy_text(MemoryContext into, Datum value)
{
    return MemoryContextStrdup(into, TextDatumGetCString(value));
}

/* Reads the active projections into `into` (outlives the transaction).  Returns how many. */
int load_projections(MemoryContext into, Projection **out, Oid *record_type, bool *extension_missing)
{
    begin_job_transaction("pg_eventstore: projecting");
    const Oid schema = get_namespace_oid("eventstore", true);
    *extension_missing = !OidIsValid(get_extension_oid("pg_eventstore", true)) ||
                         !OidIsValid(get_relname_relid("projections", schema));
    int count = 0;
    if (!*extension_missing) {
        *record_type = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid, CStringGetDatum("event_record"),
                                       ObjectIdGetDatum(schema));
        run_kept_plan(active_projections_statement, nullptr, nullptr, false, 0, SPI_OK_SELECT);
        count = (int)SPI_processed;
        Projection *projections = (Projection *)MemoryContextAllocZero(into, sizeof(Projection) * Max(count, 1));
        for (int i = 0; i < count; i++) {
            HeapTuple row = SPI_tuptable->vals[i];
            TupleDesc desc = SPI_tuptable->tupdesc;
            Projection &p = projections[i];
            bool isnull;
            p.name = copy_text(into, SPI_getbinval(row, desc, 1, &isnull));
            const Datum handler = SPI_getbinval(row, desc, 2, &isnull);
            p.handler = isnull ? InvalidOid : DatumGetObjectId(handler);
            char *kind = TextDatumGetCString(SPI_getbinval(row, desc, 3, &isnull));
            p.kind = strcmp(kind, "event") == 0 ? kEventHandler : strcmp(kind, "batch") == 0 ? kBatchHandler
                                                                                              : kSqlStatements;
            const Datum sql = SPI_getbinval(row, desc, 4, &isnull);
            p.sql = isnull ? nullptr : copy_text(into, sql);
            for (int column = 5; column <= 6; column++) {
                const Datum filter = SPI_getbinval(row, desc, column, &isnull);
                ArrayType *copy = nullptr;
                if (!isnull) {
                    ArrayType *array = DatumGetArrayTypeP(filter);
                    copy = (ArrayType *)MemoryContextAlloc(into, VARSIZE(array));
                    memcpy(copy, array, VARSIZE(array));
                }
                (column == 5 ? p.event_types : p.categories) = copy;
            }
            p.schema = copy_text(into, SPI_getbinval(row, desc, 7, &isnull));
            p.skip_errors = DatumGetBool(SPI_getbinval(row, desc, 8, &isnull));
            p.owner = DatumGetObjectId(SPI_getbinval(row, desc, 9, &isnull));
            p.rebuilding = DatumGetBool(SPI_getbinval(row, desc, 10, &isnull));
            p.position = DatumGetInt64(SPI_getbinval(row, desc, 11, &isnull));
            p.rebuild_position = DatumGetInt64(SPI_getbinval(row, desc, 12, &isnull));
            const Datum rebuild_schema = SPI_getbinval(row, desc, 13, &isnull);
            p.rebuild_schema = isnull ? nullptr : copy_text(into, rebuild_schema);
            p.active = DatumGetBool(SPI_getbinval(row, desc, 14, &isnull));
        }
        *out = projections;
    }
    commit_job_transaction();
    return count;
}

Datum nullable_array(ArrayType *array, bool *isnull)
{
    *isnull = array == nullptr;
    return array == nullptr ? (Datum)0 : PointerGetDatum(array);
}

/* The `batch` relation for SQL projections: the events as rows of eventstore.event_record. */
void register_batch_relation(SPITupleTable *rows, uint64 count, Oid record_type)
{
    TupleDesc record_desc = lookup_rowtype_tupdesc_copy(record_type, -1);
    Tuplestorestate *store = tuplestore_begin_heap(false, false, work_mem);
    Datum *values = (Datum *)palloc(sizeof(Datum) * record_desc->natts);
    bool *nulls = (bool *)palloc(sizeof(bool) * record_desc->natts);
    for (uint64 i = 0; i < count; i++) {
        bool isnull;
        HeapTupleHeader event = DatumGetHeapTupleHeader(SPI_getbinval(rows->vals[i], rows->tupdesc, 1, &isnull));
        HeapTupleData tuple;
        tuple.t_len = HeapTupleHeaderGetDatumLength(event);
        ItemPointerSetInvalid(&tuple.t_self);
        tuple.t_tableOid = InvalidOid;
        tuple.t_data = event;
        heap_deform_tuple(&tuple, record_desc, values, nulls);
        tuplestore_putvalues(store, record_desc, values, nulls);
    }
    EphemeralNamedRelation relation = (EphemeralNamedRelation)palloc0(sizeof(EphemeralNamedRelationData));
    relation->md.name = pstrdup("batch");
    relation->md.reliddesc = InvalidOid;
    relation->md.tupdesc = record_desc;
    relation->md.enrtype = ENR_NAMED_TUPLESTORE;
    relation->md.enrtuples = (double)count;
    relation->reldata = store;
    if (SPI_register_relation(relation) != SPI_OK_REL_REGISTER)
        ereport(ERROR, (errmsg("pg_eventstore projector: could not register the batch relation")));
}

/*
 * Runs the projection's code over the rows of the events query, as its
 * owner, with its schema first on the search_path.  The role and the
 * search_path are restored on return; an ERROR restores them with the
 * transaction's abort.
 */
void run_projection_code(const Projection &p, const Target &target, SPITupleTable *rows, uint64 count,
                         Oid record_type)
{
    Oid saved_user;
    int saved_context;
    GetUserIdAndSecContext(&saved_user, &saved_context);
    if (target.rebuild) {
        /*
         * The copy's schema was created by another session moments ago, and
         * this process renamed a schema of that very name away at the last
         * switch: its name lookups could still answer from a catalog
         * snapshot and cache entries older than the new schema (seen: "relation
         * does not exist" at a second rebuild's first batch).  Look names up
         * afresh.
         */
        InvalidateCatalogSnapshot();
        CatalogCacheFlushCatalog(NamespaceRelationId);
        CatalogCacheFlushCatalog(RelationRelationId);
    }
    SetUserIdAndSecContext(p.owner, saved_context | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
    const int guc_level = NewGUCNestLevel();
    (void)set_config_option("search_path", psprintf("%s, pg_catalog, pg_temp", quote_identifier(target.schema)),
                            PGC_SUSET, PGC_S_OVERRIDE, GUC_ACTION_SAVE, true, 0, false);

    switch (p.kind) {
    case kEventHandler: {
        FmgrInfo handler;
        fmgr_info(p.handler, &handler);
        for (uint64 i = 0; i < count; i++) {
            bool isnull;
            (void)FunctionCall1(&handler, SPI_getbinval(rows->vals[i], rows->tupdesc, 1, &isnull));
        }
        break;
    }
    case kBatchHandler: {
        Datum *events = (Datum *)palloc(sizeof(Datum) * Max(count, (uint64)1));
        for (uint64 i = 0; i < count; i++) {
            bool isnull;
            events[i] = SPI_getbinval(rows->vals[i], rows->tupdesc, 1, &isnull);
        }
        int16 length;
        bool by_value;
        char alignment;
        get_typlenbyvalalign(record_type, &length, &by_value, &alignment);
        ArrayType *array = construct_array(events, (int)count, record_type, length, by_value, alignment);
        FmgrInfo handler;
        fmgr_info(p.handler, &handler);
        (void)FunctionCall1(&handler, PointerGetDatum(array));
        break;
    }
    case kSqlStatements:
        register_batch_relation(rows, count, record_type);
        if (SPI_execute(p.sql, false, 0) < 0)
            ereport(ERROR, (errmsg("pg_eventstore projector: the SQL of projection \"%s\" failed", p.name)));
        (void)SPI_unregister_relation("batch");
        break;
    }

    /* false: whatever the code SET (plain SET included) goes back with the search_path. */
    AtEOXact_GUC(false, guc_level);
    SetUserIdAndSecContext(saved_user, saved_context);
}

/*
 * Applies (from, to] to one target in one transaction.  Returns false when
 * the projection's code (or anything else) failed: the transaction is
 * rolled back, the error logged and copied into *failure.  Returns true,
 * doing nothing, when the projection moved meanwhile (paused, dropped).
 */
bool apply_range(const Projection &p, const Target &target, int64 from, int64 to, Oid record_type,
                 int64 *applied, int64 *now_at, Failure *failure)
{
    MemoryContext caller = CurrentMemoryContext;
    volatile bool ok = true;
    volatile int64 stretch_end = to; /* cut to the end of the log below */
    *applied = 0;
    *now_at = from;
    PG_TRY();
    {
        begin_job_transaction("pg_eventstore: projecting");
        Datum name = CStringGetTextDatum(p.name);
        run_kept_plan(lock_projection_statement, &name, nullptr, false, 0, SPI_OK_SELECT);
        bool current = false;
        if (SPI_processed == 1) {
            bool isnull;
            const int64 live = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
            const int64 rebuild =
                DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
            char *state = TextDatumGetCString(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
            const bool active = strcmp(state, "running") == 0 || strcmp(state, "rebuilding") == 0;
            current = active && (target.rebuild ? rebuild == from : live == from);
            *now_at = target.rebuild ? rebuild : live;
        }
        if (current) {
            /*
             * The stretch ends where the log ends in this transaction's
             * view, whatever shared memory said: the sequencer's position
             * there is a hint for waking up, and it can be ahead of the
             * tables (the extension dropped and created again, a restored
             * database).  Moving past a position not yet in the log would
             * skip its event for good.
             */
            run_kept_plan(sequenced_head_statement, nullptr, nullptr, false, 0, SPI_OK_SELECT);
            bool head_null;
            stretch_end =
                Min(to, DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &head_null)));
            current = stretch_end > from;
        }
        if (current) {
            bool nulls[4];
            Datum args[4] = {Int64GetDatum(from), Int64GetDatum(stretch_end), nullable_array(p.event_types, &nulls[2]),
                             nullable_array(p.categories, &nulls[3])};
            char null_flags[4] = {' ', ' ', nulls[2] ? 'n' : ' ', nulls[3] ? 'n' : ' '};
            run_kept_plan(batch_events_statement, args, null_flags, false, 0, SPI_OK_SELECT);
            SPITupleTable *rows = SPI_tuptable;
            const uint64 count = SPI_processed;
            if (count > 0)
                run_projection_code(p, target, rows, count, record_type);
            *applied = (int64)count;
            Datum advance[2] = {name, Int64GetDatum(stretch_end)};
            run_kept_plan(target.rebuild ? advance_rebuild_statement : advance_statement, advance, nullptr, false, 0,
                          SPI_OK_UPDATE);
        }
        commit_job_transaction();
        if (current)
            *now_at = stretch_end;
    }
    PG_CATCH();
    {
        ErrorData *error = recover_from_error(caller, true);
        strlcpy(failure->sqlstate, unpack_sql_state(error->sqlerrcode), sizeof failure->sqlstate);
        failure->message = pstrdup(error->message);
        FreeErrorData(error);
        ok = false;
    }
    PG_END_TRY();
    return ok;
}

/*
 * Records a failure at `position`: 'halt' stops the projection there, 'skip'
 * moves past it.  Returns the projection's position afterwards (`done`: the
 * last position applied before the failing event).
 */
int64 settle_failure(const Projection &p, const Target &target, int64 done, int64 position, const Failure &failure)
{
    begin_job_transaction("pg_eventstore: recording a projection error");
    Datum name = CStringGetTextDatum(p.name);
    if (p.skip_errors) {
        Datum record[4] = {name, Int64GetDatum(position), CStringGetTextDatum(failure.sqlstate),
                           CStringGetTextDatum(failure.message)};
        run_kept_plan(record_skipped_statement, record, nullptr, false, 0, SPI_OK_INSERT);
        Datum advance[2] = {name, Int64GetDatum(position)};
        run_kept_plan(target.rebuild ? advance_rebuild_statement : advance_statement, advance, nullptr, false, 0,
                      SPI_OK_UPDATE);
    } else {
        const char *message = psprintf("%s%s (SQLSTATE %s)", target.rebuild ? "rebuild: " : "", failure.message,
                                       failure.sqlstate);
        Datum halt[3] = {name, CStringGetTextDatum(message), Int64GetDatum(position)};
        run_kept_plan(halt_statement, halt, nullptr, false, 0, SPI_OK_UPDATE);
    }
    commit_job_transaction();
    ereport(LOG, (errmsg("pg_eventstore projector: projection \"%s\" %s the event at position %lld: %s", p.name,
                         p.skip_errors ? "skipped" : "halted at", (long long)position, failure.message)));
    return p.skip_errors ? position : done;
}

/*
 * After a failed batch: its events one per transaction, up to and including
 * the first that fails.  Returns the position reached; *applied counts.
 */
int64 apply_one_by_one(const Projection &p, const Target &target, int64 from, int64 to, Oid record_type,
                       int64 *applied_total)
{
    MemoryContext round = CurrentMemoryContext; /* outlives the transaction below */
    begin_job_transaction("pg_eventstore: projecting event by event");
    bool nulls[4];
    Datum args[4] = {Int64GetDatum(from), Int64GetDatum(to), nullable_array(p.event_types, &nulls[2]),
                     nullable_array(p.categories, &nulls[3])};
    char null_flags[4] = {' ', ' ', nulls[2] ? 'n' : ' ', nulls[3] ? 'n' : ' '};
    run_kept_plan(batch_positions_statement, args, null_flags, false, 0, SPI_OK_SELECT);
    const uint64 count = SPI_processed;
    int64 *positions = (int64 *)MemoryContextAlloc(round, sizeof(int64) * Max(count, (uint64)1));
    for (uint64 i = 0; i < count; i++) {
        bool isnull;
        positions[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
    }
    commit_job_transaction();

    *applied_total = 0;
    int64 done = from;
    for (uint64 i = 0; i < count; i++) {
        int64 applied = 0;
        int64 now_at = done;
        Failure failure;
        if (!apply_range(p, target, done, positions[i], record_type, &applied, &now_at, &failure))
            return settle_failure(p, target, done, positions[i], failure);
        if (now_at != positions[i])
            return now_at; /* the projection moved meanwhile (paused, dropped) */
        *applied_total += applied;
        done = positions[i];
    }
    /* The failure did not come back event by event (it was transient): finish the stretch. */
    int64 applied = 0;
    int64 now_at = done;
    Failure failure;
    if (done < to && apply_range(p, target, done, to, record_type, &applied, &now_at, &failure)) {
        *applied_total += applied;
        return now_at;
    }
    return done;
}

/* Frees the slots of projections that no longer exist (dropped). */
void forget_dropped_projections(const Projection *projections, int count)
{
    LWLockAcquire(worker_shared_state->lock, LW_EXCLUSIVE);
    for (ProjectionSlot &slot : worker_shared_state->projections) {
        if (slot.name[0] == '\0')
            continue;
        bool exists = false;
        for (int i = 0; i < count && !exists; i++)
            exists = strcmp(projections[i].name, slot.name) == 0;
        if (!exists)
            slot.name[0] = '\0';
    }
    LWLockRelease(worker_shared_state->lock);
}

/* Shows the projection's progress in shared memory and wakes wait_for_projection(). */
void publish_progress(const Projection &p, int64 position, int64 applied)
{
    const TimestampTz now = GetCurrentTimestamp();
    LWLockAcquire(worker_shared_state->lock, LW_EXCLUSIVE);
    ProjectionSlot *slot = nullptr;
    ProjectionSlot *free_slot = nullptr;
    for (ProjectionSlot &candidate : worker_shared_state->projections) {
        if (strcmp(candidate.name, p.name) == 0) {
            slot = &candidate;
            break;
        }
        if (free_slot == nullptr && candidate.name[0] == '\0')
            free_slot = &candidate;
    }
    if (slot == nullptr && free_slot != nullptr) {
        slot = free_slot;
        memset(slot, 0, sizeof *slot);
        strlcpy(slot->name, p.name, sizeof slot->name);
        slot->rate_sample_at = now;
    }
    if (slot != nullptr) {
        slot->position = position;
        slot->applied_total += applied;
        if (TimestampDifferenceExceeds(slot->rate_sample_at, now, 1000)) {
            const double seconds = (double)(now - slot->rate_sample_at) / USECS_PER_SEC;
            slot->events_per_second = (double)(slot->applied_total - slot->rate_sample_total) / seconds;
            slot->rate_sample_at = now;
            slot->rate_sample_total = slot->applied_total;
        }
    }
    LWLockRelease(worker_shared_state->lock);
    if (applied > 0)
        record_job_batch(applied);
    ConditionVariableBroadcast(&worker_shared_state->projection_advanced);
}

/* One batch of one target; returns the position it reached (*applied: events applied). */
int64 project_batch(const Projection &p, const Target &target, int64 from, int64 sequenced, Oid record_type,
                    int64 *applied)
{
    const int64 to = Min(from + kScanWindow, sequenced);
    int64 now_at = from;
    Failure failure;
    if (apply_range(p, target, from, to, record_type, applied, &now_at, &failure))
        return now_at;
    return apply_one_by_one(p, target, from, to, record_type, applied);
}

/*
 * Whether some other session's snapshot is older than `horizon` (the next
 * transaction id right after the copy's last batch committed): such a
 * snapshot may not see that batch, and if it first touched the projection's
 * tables after the switch it would read the copy as it was (name lookups
 * always see the newest catalog).  The switch waits for those to end.
 */
KeptPlan older_snapshots_statement = {
    "SELECT pg_catalog.count(*) FROM pg_catalog.pg_stat_activity "
    "WHERE datname = pg_catalog.current_database() AND pid <> pg_catalog.pg_backend_pid() "
    "  AND backend_xmin IS NOT NULL AND pg_catalog.age(backend_xmin) > pg_catalog.age($1::text::xid)",
    1,
    {TEXTOID}};

/*
 * The end of a rebuild: the copy has caught up with the live position.
 * Swaps the schemas by renaming them in one transaction and drops the old
 * copy.  A lock held by a reader makes it give up at once (lock_timeout),
 * as do snapshots older than the copy's last batch; it tries again next
 * round.
 */
void swap_rebuilt_schema(const Projection &p, TransactionId horizon)
{
    MemoryContext caller = CurrentMemoryContext;
    PG_TRY();
    {
        begin_job_transaction("pg_eventstore: switching a rebuilt projection");
        const int guc_level = NewGUCNestLevel();
        (void)set_config_option("lock_timeout", kSwapLockTimeout, PGC_SUSET, PGC_S_OVERRIDE, GUC_ACTION_SAVE, true,
                                0, false);
        Datum name = CStringGetTextDatum(p.name);
        run_kept_plan(lock_projection_statement, &name, nullptr, false, 0, SPI_OK_SELECT);
        bool isnull;
        const bool found = SPI_processed == 1;
        const int64 live =
            found ? DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)) : -1;
        const int64 rebuild =
            found ? DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull)) : -2;
        Datum horizon_text = CStringGetTextDatum(psprintf("%u", horizon));
        run_kept_plan(older_snapshots_statement, &horizon_text, nullptr, false, 0, SPI_OK_SELECT);
        const int64 older = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
        if (older > 0)
            ereport(DEBUG1, (errmsg("pg_eventstore projector: switching rebuilt projection \"%s\" waits for %lld "
                                    "older snapshots",
                                    p.name, (long long)older)));
        if (live == rebuild && older == 0) {
            const char *retired = psprintf("%s_retired", p.schema);
            run_utility(psprintf("ALTER SCHEMA %s RENAME TO %s", quote_identifier(p.schema),
                                      quote_identifier(retired)));
            run_utility(psprintf("ALTER SCHEMA %s RENAME TO %s", quote_identifier(p.rebuild_schema),
                                      quote_identifier(p.schema)));
            run_utility(psprintf("DROP SCHEMA %s CASCADE", quote_identifier(retired)));
            run_utility(psprintf("UPDATE eventstore.projections SET state = 'running', rebuild_position = NULL, "
                                      "rebuild_schema = NULL, updated_at = pg_catalog.now() WHERE name = %s",
                                      quote_literal_cstr(p.name)));
            ereport(LOG, (errmsg("pg_eventstore projector: projection \"%s\" rebuilt and switched at position %lld",
                                 p.name, (long long)live)));
        }
        AtEOXact_GUC(true, guc_level);
        commit_job_transaction();
    }
    PG_CATCH();
    {
        ErrorData *error = recover_from_error(caller, false);
        ereport(LOG, (errmsg("pg_eventstore projector: switching rebuilt projection \"%s\" postponed: %s", p.name,
                             error->message)));
        FreeErrorData(error);
    }
    PG_END_TRY();
}

}  // namespace

ProjectorRound project_once(int64 sequenced)
{
    ProjectorRound round = {false, false};
    Projection *projections = nullptr;
    Oid record_type = InvalidOid;
    const int count = load_projections(CurrentMemoryContext, &projections, &record_type, &round.extension_missing);
    if (round.extension_missing)
        return round;
    forget_dropped_projections(projections, count);
    int64 slowest = sequenced; /* the projector's own position: the slowest active projection's */
    for (int i = 0; i < count; i++) {
        const Projection &p = projections[i];
        if (!p.active) {
            publish_progress(p, p.position, 0);
            continue;
        }
        int64 applied = 0;
        int64 position = p.position;
        if (position < sequenced)
            position = project_batch(p, Target{p.schema, false}, p.position, sequenced, record_type, &applied);
        publish_progress(p, position, applied);
        slowest = Min(slowest, position);
        round.more_to_do = round.more_to_do || (position < sequenced && position > p.position);
        if (!p.rebuilding || p.rebuild_schema == nullptr)
            continue;
        /*
         * The copy's batch, then at once (before the live position can move
         * again) the switch when the copy has caught up: under a steady
         * stream of appends the live position moves every round, so a
         * switch left to a later round would wait forever.
         */
        int64 rebuilt = 0;
        const int64 reached =
            p.rebuild_position < position
                ? project_batch(p, Target{p.rebuild_schema, true}, p.rebuild_position, position, record_type, &rebuilt)
                : p.rebuild_position;
        if (reached == position)
            swap_rebuilt_schema(p, XidFromFullTransactionId(ReadNextFullTransactionId()));
        round.more_to_do = round.more_to_do || reached > p.rebuild_position;
    }
    pg_atomic_write_u64(&worker_shared_state->jobs[kProjector].position, (uint64)slowest);
    return round;
}

}  // namespace eventstore::worker
