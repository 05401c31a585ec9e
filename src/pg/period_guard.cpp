/*
 * period_guard.cpp — the period lock, the per-backend cache of period rules
 * and the recording of late events (see period_guard.h).
 *
 * C-style glue with plain-data locals: every SPI call may ereport(ERROR).
 * The deciding itself is src/core/period_rule.cpp.
 */
#include "period_guard.h"

#include <cstring>
#include <string_view>

#include "core/identifiers.h"
#include "extension_relation.h"
#include "gucs.h"
#include "kept_plan.h"
#include "shared_memory.h"
#include "spi_helpers.h"

extern "C" {
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "port/atomics.h"
#include "storage/lmgr.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/uuid.h"
}

namespace eventstore::pg {
namespace {

/* ---- the shared change counter ---- */

struct PeriodRulesCounter {
    pg_atomic_uint64 changes;
};
PeriodRulesCounter *counter = nullptr;

void init_counter(void *memory, LWLockPadded *)
{
    pg_atomic_init_u64(&static_cast<PeriodRulesCounter *>(memory)->changes, 1);
}

/* 0 without shared memory: then every append reloads (correct, only slower). */
uint64 committed_changes()
{
    return counter == nullptr ? 0 : pg_atomic_read_u64(&counter->changes);
}

bool change_pending = false;
bool callback_registered = false;

void forget_cached_rules();

/*
 * At commit the change is visible to new snapshots and the changer still
 * holds its ACCESS EXCLUSIVE lock: an append that waited for the lock finds
 * the counter moved and reloads.  One that reloaded while the change was
 * in flight read the counter before reloading, so it reloads again.
 */
void on_transaction_end(XactEvent event, void *)
{
    /* A prepared change would commit without moving the counter: refuse it, as for temporary tables. */
    if (event == XACT_EVENT_PRE_PREPARE && change_pending)
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                        errmsg("cannot PREPARE a transaction that changed accounting periods")));
    if ((event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_COMMIT) && change_pending && counter != nullptr)
        pg_atomic_fetch_add_u64(&counter->changes, 1);
    if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_ABORT ||
        event == XACT_EVENT_PARALLEL_ABORT || event == XACT_EVENT_PREPARE) {
        /* This backend may have cached its own change (see judge_event_times): read the rules afresh. */
        if (change_pending)
            forget_cached_rules();
        change_pending = false;
    }
}

/* ---- the lock ---- */

/*
 * The lock is an object lock whose class is eventstore.period_policies (no
 * object of that class exists, so nothing else ever locks it) and whose id
 * is a hash of the category.  Two categories may share a hash: then a close
 * of one also waits for appends to the other, nothing worse.
 */
void lock_category(Oid lock_class, const char *category, int length, LOCKMODE mode)
{
    const uint32 key = hash_bytes(reinterpret_cast<const unsigned char *>(category), length);
    LockDatabaseObject(lock_class, key, 0, mode);
}

/*
 * ACCESS EXCLUSIVE for a change, waiting at most
 * pg_eventstore.period_lock_timeout (or the session's shorter lock_timeout).
 * While a change waits, new appends to the category queue behind it; an
 * append transaction left open would hold them all up for as long as the
 * change waited, so the change gives up instead (55P03) and can be tried
 * again.  In-flight appends of ordinary length are waited for.
 */
void lock_category_for_change(Oid lock_class, text *category)
{
    const int limit = (LockTimeout > 0 && LockTimeout < guc_period_lock_timeout_ms) ? LockTimeout
                                                                                    : guc_period_lock_timeout_ms;
    const int nest_level = NewGUCNestLevel();
    (void)set_config_option("lock_timeout", psprintf("%d", limit), PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true,
                            0, false);
    MemoryContext caller = CurrentMemoryContext;
    PG_TRY();
    {
        lock_category(lock_class, VARDATA_ANY(category), VARSIZE_ANY_EXHDR(category), AccessExclusiveLock);
    }
    PG_CATCH();
    {
        /* CopyErrorData must not run in ErrorContext: copy into the caller's context. */
        MemoryContextSwitchTo(caller);
        ErrorData *error = CopyErrorData();
        if (error->sqlerrcode != ERRCODE_LOCK_NOT_AVAILABLE)
            PG_RE_THROW();
        FlushErrorState();
        ereport(ERROR, (errcode(ERRCODE_LOCK_NOT_AVAILABLE),
                        errmsg("periods of category \"%s\" could not be changed: appends to it stayed in flight "
                               "for %d ms",
                               text_to_cstring(category), limit),
                        errdetail("An append transaction to the category is still open; appends queue behind a "
                                  "waiting period change, so the change gives up rather than hold them."),
                        errhint("Find the open transaction in pg_stat_activity, or try again; "
                                "pg_eventstore.period_lock_timeout (or a shorter lock_timeout) sets how long a "
                                "change waits.")));
    }
    PG_END_TRY();
    AtEOXact_GUC(true, nest_level);
}

/* eventstore.period_policies, or InvalidOid before the extension is at 0.2. */
Oid policies_relation()
{
    return extension_relation("period_policies");
}

/* ---- the cache ---- */

struct CachedCategory {
    char *name;
    int length;
    PeriodRule rule;
};

struct PeriodCache {
    bool loaded = false;
    uint64 changes = 0;
    Oid lock_class = InvalidOid;
    CachedCategory *categories = nullptr; /* sorted by name, bytewise */
    int count = 0;
    MemoryContext memory = nullptr;
};
PeriodCache cache;

void forget_cached_rules()
{
    cache.loaded = false;
}

/*
 * DROP EXTENSION drops eventstore.period_policies: every backend forgets
 * its rules (and the lock class, that table's OID) when the invalidation
 * arrives, at its next transaction or lock, even if no period change ever
 * moves the counter again.
 */
void on_relcache_invalidation(Datum, Oid relation)
{
    if (relation == InvalidOid || relation == cache.lock_class)
        forget_cached_rules();
}
bool relcache_callback_registered = false;

/* Rows beyond what the horizon says, per category in bytewise order. */
KeptPlan rules_statement = {
    "SELECT p.category, p.closed_through, s.period_start, s.period_end, s.state "
    "FROM eventstore.period_policies p "
    "LEFT JOIN eventstore.period_states s ON s.category = p.category "
    "     AND (s.state <> 'closed' OR s.period_end > p.closed_through) "
    "ORDER BY p.category COLLATE \"C\", s.period_start",
    0,
    {}};

PeriodState state_from_text(const char *state)
{
    if (strcmp(state, "closed") == 0)
        return PeriodState::closed;
    if (strcmp(state, "soft_closed") == 0)
        return PeriodState::soft_closed;
    return PeriodState::open;
}

/* Reads the rules with a snapshot taken now (not the transaction's: under REPEATABLE READ it may predate a close). */
void reload_cache(uint64 changes)
{
    if (!relcache_callback_registered) {
        CacheRegisterRelcacheCallback(on_relcache_invalidation, (Datum)0);
        relcache_callback_registered = true;
    }
    if (cache.memory == nullptr)
        cache.memory = AllocSetContextCreate(TopMemoryContext, "pg_eventstore period rules", ALLOCSET_SMALL_SIZES);
    MemoryContextReset(cache.memory);
    cache.loaded = false;
    cache.categories = nullptr;
    cache.count = 0;
    cache.lock_class = policies_relation();
    if (OidIsValid(cache.lock_class)) {
        const int rc = SPI_execute_snapshot(kept_plan(rules_statement), nullptr, nullptr, GetLatestSnapshot(),
                                            InvalidSnapshot, true, false, 0);
        if (rc != SPI_OK_SELECT)
            ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("pg_eventstore: reading period rules failed")));
        const uint64 rows = SPI_processed;
        TupleDesc desc = SPI_tuptable->tupdesc;
        MemoryContext caller = MemoryContextSwitchTo(cache.memory);
        cache.categories = (CachedCategory *)palloc0(sizeof(CachedCategory) * (rows + 1));
        PeriodSpan *spans = (PeriodSpan *)palloc0(sizeof(PeriodSpan) * (rows + 1));
        int span_count = 0;
        for (uint64 row = 0; row < rows; row++) {
            HeapTuple tuple = SPI_tuptable->vals[row];
            bool isnull;
            char *name = SPI_getvalue(tuple, desc, 1); /* palloc'd in the cache's memory */
            CachedCategory *current = cache.count > 0 ? &cache.categories[cache.count - 1] : nullptr;
            if (current == nullptr || strcmp(current->name, name) != 0) {
                current = &cache.categories[cache.count++];
                current->name = name;
                current->length = (int)strlen(name);
                current->rule.has_horizon = true;
                current->rule.closed_through = DatumGetTimestampTz(SPI_getbinval(tuple, desc, 2, &isnull));
                current->rule.spans = &spans[span_count];
                current->rule.span_count = 0;
            }
            const Datum start = SPI_getbinval(tuple, desc, 3, &isnull);
            if (isnull)
                continue;
            spans[span_count].start = DatumGetTimestampTz(start);
            spans[span_count].end = DatumGetTimestampTz(SPI_getbinval(tuple, desc, 4, &isnull));
            spans[span_count].state = state_from_text(SPI_getvalue(tuple, desc, 5));
            span_count++;
            current->rule.span_count++;
        }
        MemoryContextSwitchTo(caller);
        SPI_freetuptable(SPI_tuptable);
    }
    cache.changes = changes;
    cache.loaded = true;
}


const CachedCategory *find_category(const char *name, int length)
{
    int low = 0;
    int high = cache.count;
    while (low < high) {
        const int middle = low + (high - low) / 2;
        const CachedCategory &candidate = cache.categories[middle];
        const int common = candidate.length < length ? candidate.length : length;
        int order = memcmp(candidate.name, name, common);
        if (order == 0)
            order = candidate.length - length;
        if (order == 0)
            return &candidate;
        if (order < 0)
            low = middle + 1;
        else
            high = middle;
    }
    return nullptr;
}

KeptPlan insert_late_events_statement = {
    "INSERT INTO eventstore.late_events (event_id, stream_id, stream_version, category, event_time, period_start,"
    "    period_end, arrived_in, status, policy_id) "
    "SELECT u.event_id, $1, u.version, p.category, u.event_time, b.start,"
    "    coalesce(u.period_end, eventstore.period_end_of(p.period, p.time_zone, b.start)),"
    "    u.arrived_in, CASE u.arrived_in WHEN 'closed' THEN 'pending' ELSE 'accepted' END, p.policy_id "
    "FROM eventstore.period_policies p,"
    "    unnest($3, $4, $5, $6, $7, $8) AS u(event_id, version, event_time, period_start, period_end, arrived_in)"
    "    CROSS JOIN LATERAL (SELECT coalesce(u.period_start,"
    "        eventstore.period_start_of(p.period, p.time_zone, u.event_time)) AS start) b "
    "WHERE p.category = $2",
    8,
    {TEXTOID, TEXTOID, UUIDARRAYOID, INT8ARRAYOID, TIMESTAMPTZARRAYOID, TIMESTAMPTZARRAYOID, TIMESTAMPTZARRAYOID,
     TEXTARRAYOID}};

}  // namespace

void register_period_rules_counter()
{
    register_shared_struct("pg_eventstore period rules", sizeof(PeriodRulesCounter), 0, init_counter,
                           reinterpret_cast<void **>(&counter));
}

PeriodVerdict *judge_event_times(text *stream_id, const TimestampTz *event_times, int count)
{
    const std::string_view category =
        stream_category(std::string_view(VARDATA_ANY(stream_id), VARSIZE_ANY_EXHDR(stream_id)));
    if (!cache.loaded)
        reload_cache(committed_changes());
    if (!OidIsValid(cache.lock_class)) {
        /* Not at 0.2 yet, or the lookup predates the update: look again next time. */
        cache.loaded = false;
        return nullptr;
    }
    for (;;) {
        lock_category(cache.lock_class, category.data(), (int)category.size(), AccessShareLock);
        /* Read before reloading: a change committing meanwhile moves it again, and the next append reloads. */
        const uint64 changes = committed_changes();
        /*
         * A transaction that changed the rules itself (a policy set, then an
         * append) reads them every time: its change moves the counter only
         * at commit.
         */
        if (changes != 0 && changes == cache.changes && !change_pending)
            break;
        const Oid locked_class = cache.lock_class;
        reload_cache(changes);
        if (!OidIsValid(cache.lock_class)) {
            cache.loaded = false;
            return nullptr;
        }
        /* The extension was made again since the lock's class was read: lock the tag it has now. */
        if (cache.lock_class == locked_class)
            break;
    }

    const CachedCategory *rules = find_category(category.data(), (int)category.size());
    if (rules == nullptr)
        return nullptr;
    PeriodVerdict *verdicts = nullptr;
    for (int i = 0; i < count; i++) {
        const PeriodVerdict verdict = classify_event_time(rules->rule, event_times[i]);
        if (verdict.state == PeriodState::open && verdicts == nullptr)
            continue;
        if (verdicts == nullptr) {
            verdicts = (PeriodVerdict *)palloc(sizeof(PeriodVerdict) * count);
            for (int earlier = 0; earlier < i; earlier++)
                verdicts[earlier] = PeriodVerdict{PeriodState::open, false, 0, 0};
        }
        verdicts[i] = verdict;
    }
    return verdicts;
}

void record_late_events(text *stream_id, int64 first_version, const pg_uuid_t *event_ids,
                        const TimestampTz *event_times, const PeriodVerdict *verdicts, int count)
{
    Datum *ids = (Datum *)palloc(sizeof(Datum) * count);
    Datum *versions = (Datum *)palloc(sizeof(Datum) * count);
    Datum *times = (Datum *)palloc(sizeof(Datum) * count);
    Datum *starts = (Datum *)palloc(sizeof(Datum) * count);
    Datum *ends = (Datum *)palloc(sizeof(Datum) * count);
    bool *span_nulls = (bool *)palloc(sizeof(bool) * count);
    Datum *arrived = (Datum *)palloc(sizeof(Datum) * count);
    int late = 0;
    for (int i = 0; i < count; i++) {
        if (verdicts[i].state == PeriodState::open)
            continue;
        ids[late] = UUIDPGetDatum(&event_ids[i]);
        versions[late] = Int64GetDatum(first_version + i);
        times[late] = TimestampTzGetDatum(event_times[i]);
        starts[late] = TimestampTzGetDatum(verdicts[i].period_start);
        ends[late] = TimestampTzGetDatum(verdicts[i].period_end);
        span_nulls[late] = !verdicts[i].span_known;
        arrived[late] = CStringGetTextDatum(period_state_name(verdicts[i].state));
        late++;
    }
    if (late == 0)
        return;
    const std::string_view category =
        stream_category(std::string_view(VARDATA_ANY(stream_id), VARSIZE_ANY_EXHDR(stream_id)));
    Datum args[8] = {PointerGetDatum(stream_id),
                     PointerGetDatum(cstring_to_text_with_len(category.data(), (int)category.size())),
                     PointerGetDatum(array_of(ids, nullptr, late, UUIDOID)),
                     PointerGetDatum(array_of(versions, nullptr, late, INT8OID)),
                     PointerGetDatum(array_of(times, nullptr, late, TIMESTAMPTZOID)),
                     PointerGetDatum(array_of(starts, span_nulls, late, TIMESTAMPTZOID)),
                     PointerGetDatum(array_of(ends, span_nulls, late, TIMESTAMPTZOID)),
                     PointerGetDatum(array_of(arrived, nullptr, late, TEXTOID))};
    /*
     * With the snapshot the rules were read with (taken now, under the
     * period lock): under REPEATABLE READ the transaction's own snapshot may
     * predate the policy that made these events late.
     */
    if (SPI_execute_snapshot(kept_plan(insert_late_events_statement), args, nullptr, GetLatestSnapshot(),
                             InvalidSnapshot, false, false, 0) != SPI_OK_INSERT)
        ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("pg_eventstore: recording late events failed")));
    if (SPI_processed != (uint64)late)
        ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
                        errmsg("pg_eventstore: recording %d late events stored %llu", late,
                               (unsigned long long)SPI_processed)));
}

}  // namespace eventstore::pg

extern "C" {

PG_FUNCTION_INFO_V1(eventstore_lock_period_rules);

/*
 * SQL: eventstore.lock_period_rules(category, exclusive): ACCESS EXCLUSIVE on
 * the category's period lock, and every backend reloads its rules once this
 * transaction commits; or ACCESS SHARE, as an append takes it.
 */
Datum eventstore_lock_period_rules(PG_FUNCTION_ARGS)
{
    text *category = PG_GETARG_TEXT_PP(0);
    const bool exclusive = PG_GETARG_BOOL(1);
    const Oid lock_class = eventstore::pg::policies_relation();
    if (!OidIsValid(lock_class))
        ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE), errmsg("eventstore.period_policies does not exist")));
    if (!exclusive) {
        eventstore::pg::lock_category(lock_class, VARDATA_ANY(category), VARSIZE_ANY_EXHDR(category),
                                      AccessShareLock);
        PG_RETURN_VOID();
    }
    eventstore::pg::lock_category_for_change(lock_class, category);
    if (!eventstore::pg::callback_registered) {
        RegisterXactCallback(eventstore::pg::on_transaction_end, nullptr);
        eventstore::pg::callback_registered = true;
    }
    eventstore::pg::change_pending = true;
    PG_RETURN_VOID();
}

}  // extern "C"
