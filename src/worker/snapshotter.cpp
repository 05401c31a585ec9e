/*
 * snapshotter.cpp — writes aggregate snapshots after their events are
 * sequenced, never in the append transaction (docs/aggregates.md).
 *
 * A stream of a category with an aggregate is due when its sequenced events
 * reach snapshot_every beyond its newest snapshot made by the aggregate's
 * current fold identity (the digest of the fold's definition and initial
 * state: change the fold and every stream is due again, from version 0).
 * For a due stream, in one transaction: fold each further run of
 * snapshot_every events from the newest snapshot's state, as the role that
 * registered the aggregate (never as the worker's superuser), and write one
 * snapshot per run, with the latest event_time and sequenced_at of all the
 * versions it covers; snapshots of older fold identities go.  A crash
 * leaves either all of a stream's new snapshots or none.
 *
 * C-style glue with plain-data locals: every SPI call may ereport(ERROR).
 */
#include "snapshotter.h"

#include <cstring>

#include "job_transaction.h"
#include "pg/extension_relation.h"
#include "pg/kept_plan.h"

extern "C" {
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/memutils.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
}

namespace eventstore::worker {
namespace {

using pg::KeptPlan;
using pg::run_kept_plan;

/* Streams snapshotted per round at most, so projections are not held up. */
constexpr int kStreamsPerRound = 50;

KeptPlan aggregates_statement = {
    "SELECT category, fold::oid, initial_state, snapshot_every, owner_role::oid, "
    "       eventstore.fold_identity(fold, initial_state) "
    "FROM eventstore.aggregates ORDER BY category",
    0,
    {}};

/*
 * Due streams with their newest snapshot for this identity (version 0 and
 * the initial state when none).  Candidates: every stream of the category
 * when $6 is NULL (a full sweep), otherwise only the streams with events
 * sequenced after position $6 (read from the log_positions primary key), so
 * a round under a steady load looks at the streams that moved, not at every
 * stream of the category.
 */
KeptPlan due_streams_statement = {
    "WITH candidates AS ("
    "  SELECT s.stream_id FROM eventstore.streams s WHERE $6::bigint IS NULL AND s.category = $1 "
    "  UNION "
    "  SELECT p.stream_id FROM eventstore.log_positions p "
    "  WHERE $6::bigint IS NOT NULL AND p.global_position > $6 AND p.category = $1) "
    "SELECT s.stream_id, sv.version, coalesce(b.version, 0), coalesce(b.state, $4), "
    "       coalesce(b.max_event_time, '-infinity'), coalesce(b.known_at, '-infinity') "
    "FROM candidates c JOIN eventstore.streams s ON s.stream_id = c.stream_id "
    "LEFT JOIN LATERAL (SELECT x.version, x.state, x.max_event_time, x.known_at FROM eventstore.snapshots x "
    "                   WHERE x.stream_id = s.stream_id AND x.fold_identity = $2 "
    "                   ORDER BY x.version DESC LIMIT 1) b ON true "
    "CROSS JOIN LATERAL (SELECT pg_catalog.max(p.stream_version) AS version FROM eventstore.log_positions p "
    "                    WHERE p.stream_id = s.stream_id) sv "
    "WHERE s.version >= coalesce(b.version, 0) + $3 "
    "  AND sv.version >= coalesce(b.version, 0) + $3 "
    "LIMIT $5",
    6,
    {TEXTOID, TEXTOID, INT4OID, JSONBOID, INT4OID, INT8OID},
    CURSOR_OPT_CUSTOM_PLAN};

/* The end of the log, read at the start of a pass. */
KeptPlan log_head_statement = {
    "SELECT coalesce(pg_catalog.max(global_position), 0) FROM eventstore.log_positions", 0, {}};

/* Run as the aggregate's owner: the fold of versions ($4, $5] from state $2. */
KeptPlan fold_run_statement = {
    "SELECT eventstore.apply_fold($1, $2, pg_catalog.array_agg(eventstore.upcast(ROW(p.global_position, "
    "           e.stream_id, e.stream_version, e.event_id, e.event_type, e.schema_version, e.data, e.metadata, "
    "           e.event_time, e.ingest_time, e.hash)::eventstore.event_record) ORDER BY e.stream_version)), "
    "       pg_catalog.max(e.event_time), pg_catalog.max(p.sequenced_at), pg_catalog.max(p.global_position) "
    "FROM eventstore.events e JOIN eventstore.log_positions p "
    "  ON p.stream_id = e.stream_id AND p.stream_version = e.stream_version "
    "WHERE e.stream_id = $3 AND e.stream_version > $4 AND e.stream_version <= $5",
    5,
    {OIDOID, JSONBOID, TEXTOID, INT8OID, INT8OID}};

KeptPlan insert_snapshot_statement = {
    "INSERT INTO eventstore.snapshots (stream_id, version, global_position, max_event_time, known_at, state, "
    "                                  fold_identity) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
    7,
    {TEXTOID, INT8OID, INT8OID, TIMESTAMPTZOID, TIMESTAMPTZOID, JSONBOID, TEXTOID}};

KeptPlan forget_old_identities_statement = {
    "DELETE FROM eventstore.snapshots WHERE stream_id = $1 AND fold_identity <> $2", 2, {TEXTOID, TEXTOID}};

/*
 * How far the snapshots are known to be complete.  After a pass that found
 * fewer due streams than it may take, every stream due at `swept_position`
 * has its snapshots; the next passes look only at streams with later
 * events.  Any change to the set of aggregates or their fold identities
 * (a new aggregate, a changed fold) starts a full sweep again.  Plain data
 * in the process, so a restarted projector begins with a full sweep.
 */
struct SnapshotSweep {
    int64 swept_position = -1; /* -1: a full sweep is needed */
    char *identities = nullptr; /* the aggregates and identities the sweep was made for */
};
SnapshotSweep sweep;

/* One aggregate, as read at the start of the round.  Plain data. */
struct Aggregate {
    Datum category;
    Oid fold;
    Datum initial_state;
    int32 every;
    Oid owner;
    Datum identity;
};

/* Folds one stream's due runs and writes their snapshots (inside the caller's transaction). */
void snapshot_stream(const Aggregate &a, HeapTuple due, TupleDesc desc)
{
    bool isnull;
    Datum stream = SPI_datumTransfer(SPI_getbinval(due, desc, 1, &isnull), false, -1);
    const int64 sequenced = DatumGetInt64(SPI_getbinval(due, desc, 2, &isnull));
    int64 version = DatumGetInt64(SPI_getbinval(due, desc, 3, &isnull));
    Datum state = SPI_datumTransfer(SPI_getbinval(due, desc, 4, &isnull), false, -1);
    TimestampTz max_event_time = DatumGetTimestampTz(SPI_getbinval(due, desc, 5, &isnull));
    TimestampTz known_at = DatumGetTimestampTz(SPI_getbinval(due, desc, 6, &isnull));

    Oid saved_user;
    int saved_context;
    GetUserIdAndSecContext(&saved_user, &saved_context);
    while (version + a.every <= sequenced) {
        const int64 next = version + a.every;
        SetUserIdAndSecContext(a.owner, saved_context | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
        Datum fold_args[5] = {ObjectIdGetDatum(a.fold), state, stream, Int64GetDatum(version), Int64GetDatum(next)};
        run_kept_plan(fold_run_statement, fold_args, nullptr, false, 0, SPI_OK_SELECT);
        SetUserIdAndSecContext(saved_user, saved_context);
        HeapTuple row = SPI_tuptable->vals[0];
        state = SPI_datumTransfer(SPI_getbinval(row, SPI_tuptable->tupdesc, 1, &isnull), false, -1);
        max_event_time = Max(max_event_time, DatumGetTimestampTz(SPI_getbinval(row, SPI_tuptable->tupdesc, 2, &isnull)));
        known_at = Max(known_at, DatumGetTimestampTz(SPI_getbinval(row, SPI_tuptable->tupdesc, 3, &isnull)));
        const int64 position = DatumGetInt64(SPI_getbinval(row, SPI_tuptable->tupdesc, 4, &isnull));
        Datum insert_args[7] = {stream, Int64GetDatum(next), Int64GetDatum(position),
                                TimestampTzGetDatum(max_event_time), TimestampTzGetDatum(known_at), state,
                                a.identity};
        run_kept_plan(insert_snapshot_statement, insert_args, nullptr, false, 0, SPI_OK_INSERT);
        version = next;
    }
    Datum forget_args[2] = {stream, a.identity};
    run_kept_plan(forget_old_identities_statement, forget_args, nullptr, false, 0, SPI_OK_DELETE);
}

}  // namespace

bool take_due_snapshots()
{
    bool more = false;
    begin_job_transaction("pg_eventstore: taking snapshots");
    if (!OidIsValid(pg::extension_relation("aggregates"))) {
        commit_job_transaction();
        return false;
    }
    run_kept_plan(aggregates_statement, nullptr, nullptr, false, 0, SPI_OK_SELECT);
    const int count = (int)SPI_processed;
    Aggregate *aggregates = (Aggregate *)palloc(sizeof(Aggregate) * (count > 0 ? count : 1));
    for (int i = 0; i < count; i++) {
        HeapTuple row = SPI_tuptable->vals[i];
        TupleDesc desc = SPI_tuptable->tupdesc;
        bool isnull;
        Aggregate &a = aggregates[i];
        a.category = SPI_datumTransfer(SPI_getbinval(row, desc, 1, &isnull), false, -1);
        a.fold = DatumGetObjectId(SPI_getbinval(row, desc, 2, &isnull));
        a.initial_state = SPI_datumTransfer(SPI_getbinval(row, desc, 3, &isnull), false, -1);
        a.every = DatumGetInt32(SPI_getbinval(row, desc, 4, &isnull));
        a.owner = DatumGetObjectId(SPI_getbinval(row, desc, 5, &isnull));
        a.identity = SPI_datumTransfer(SPI_getbinval(row, desc, 6, &isnull), false, -1);
    }
    /* What the aggregates are now: a change from the last sweep's starts a full one. */
    StringInfoData identities;
    initStringInfo(&identities);
    for (int i = 0; i < count; i++)
        appendStringInfo(&identities, "%s/%s;", TextDatumGetCString(aggregates[i].category),
                         TextDatumGetCString(aggregates[i].identity));
    if (sweep.identities == nullptr || strcmp(sweep.identities, identities.data) != 0) {
        if (sweep.identities != nullptr)
            pfree(sweep.identities);
        sweep.identities = MemoryContextStrdup(TopMemoryContext, identities.data);
        sweep.swept_position = -1;
    }
    run_kept_plan(log_head_statement, nullptr, nullptr, false, 0, SPI_OK_SELECT);
    bool head_null;
    const int64 pass_head = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &head_null));

    /*
     * All in the transaction opened above (a few dozen streams at most): a
     * failing fold fails the pass, which the projector reports and retries
     * with backoff, and nothing of it is kept.
     */
    int streams = 0;
    for (int i = 0; i < count && streams < kStreamsPerRound; i++) {
        const Aggregate &a = aggregates[i];
        Datum due_args[6] = {a.category, a.identity, Int32GetDatum(a.every), a.initial_state,
                             Int32GetDatum(kStreamsPerRound - streams), Int64GetDatum(sweep.swept_position)};
        const char due_nulls[6] = {' ', ' ', ' ', ' ', ' ', sweep.swept_position < 0 ? 'n' : ' '};
        run_kept_plan(due_streams_statement, due_args, due_nulls, false, 0, SPI_OK_SELECT);
        SPITupleTable *due = SPI_tuptable;
        const uint64 due_count = SPI_processed;
        for (uint64 d = 0; d < due_count; d++)
            snapshot_stream(a, due->vals[d], due->tupdesc);
        streams += (int)due_count;
    }
    more = streams >= kStreamsPerRound;
    commit_job_transaction();
    /* Everything due as of pass_head is done: later passes look at later events only. */
    if (!more)
        sweep.swept_position = pass_head;
    return more;
}

}  // namespace eventstore::worker
