/*
 * upcast.cpp — eventstore.upcast(event): an event as readers see it, its
 * data brought to the newest schema version by the registered upcasters
 * (docs/aggregates.md, "Upcasting").
 *
 * Stored events never change (their hash covers the stored bytes); every
 * read path applies this instead: read_stream, read_all, read_category, the
 * events a fold or a projection handler gets.  For an event of type T at
 * schema version v, while an upcaster is registered for (T, v), data :=
 * upcaster(data) and v := v + 1.
 *
 * Each upcaster runs as the role that registered it, in a
 * security-restricted context, whoever reads: a reader cannot make it do
 * more, and it cannot do more than its owner could.
 *
 * The registered upcasters are read once per statement (the cache is keyed
 * by the transaction and command id, so a registration is seen by the next
 * statement); with none registered an event passes through untouched.
 */
#include "pg_includes.h"

extern "C" {
#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/typcache.h"
}

#include <cstring>

#include "upcast.h"

namespace {

struct Upcaster {
    char *event_type;
    int32 from_version;
    Oid function;
    Oid owner;
};

/* The registered upcasters, as read for the current statement.  Plain data in a long-lived context. */
struct UpcasterCache {
    LocalTransactionId transaction = InvalidLocalTransactionId;
    CommandId command = InvalidCommandId;
    MemoryContext memory = nullptr;
    Upcaster *upcasters = nullptr;
    int count = 0;
};
UpcasterCache cache;

void load_upcasters()
{
    const LocalTransactionId transaction = MyProc->lxid;
    const CommandId command = GetCurrentCommandId(false);
    if (cache.memory != nullptr && cache.transaction == transaction && cache.command == command)
        return;
    if (cache.memory == nullptr)
        cache.memory = AllocSetContextCreate(TopMemoryContext, "pg_eventstore upcasters", ALLOCSET_SMALL_SIZES);
    MemoryContextReset(cache.memory);
    cache.upcasters = nullptr;
    cache.count = 0;

    if (SPI_connect() != SPI_OK_CONNECT)
        ereport(ERROR, (errmsg("pg_eventstore: SPI_connect failed")));
    if (SPI_execute("SELECT event_type, from_schema_version, upcaster::oid, owner_role::oid "
                    "FROM eventstore.upcasters",
                    true, 0) != SPI_OK_SELECT)
        ereport(ERROR, (errmsg("pg_eventstore: reading the upcasters failed")));
    const int count = (int)SPI_processed;
    Upcaster *upcasters = (Upcaster *)MemoryContextAlloc(cache.memory, sizeof(Upcaster) * (count > 0 ? count : 1));
    for (int i = 0; i < count; i++) {
        HeapTuple row = SPI_tuptable->vals[i];
        bool isnull;
        upcasters[i].event_type = MemoryContextStrdup(
            cache.memory, TextDatumGetCString(SPI_getbinval(row, SPI_tuptable->tupdesc, 1, &isnull)));
        upcasters[i].from_version = DatumGetInt32(SPI_getbinval(row, SPI_tuptable->tupdesc, 2, &isnull));
        upcasters[i].function = DatumGetObjectId(SPI_getbinval(row, SPI_tuptable->tupdesc, 3, &isnull));
        upcasters[i].owner = DatumGetObjectId(SPI_getbinval(row, SPI_tuptable->tupdesc, 4, &isnull));
    }
    SPI_finish();
    cache.upcasters = upcasters;
    cache.count = count;
    cache.transaction = transaction;
    cache.command = command;
}

const Upcaster *find_upcaster(const char *event_type, int32 version)
{
    for (int i = 0; i < cache.count; i++)
        if (cache.upcasters[i].from_version == version && strcmp(cache.upcasters[i].event_type, event_type) == 0)
            return &cache.upcasters[i];
    return nullptr;
}

/* event_record's columns (eventstore.event_record). */
constexpr int kEventType = 4;     /* 0-based: global_position, stream_id, stream_version, event_id, event_type */
constexpr int kSchemaVersion = 5;
constexpr int kData = 6;

}  // namespace

namespace eventstore::pg {

bool upcasters_registered()
{
    load_upcasters();
    return cache.count > 0;
}

void upcast_event_values(Datum *values, bool *nulls)
{
    load_upcasters();
    if (cache.count == 0)
        return;
    const char *event_type = nulls[kEventType] ? "" : TextDatumGetCString(values[kEventType]);
    int32 version = nulls[kSchemaVersion] ? 1 : DatumGetInt32(values[kSchemaVersion]);
    const Upcaster *upcaster = find_upcaster(event_type, version);
    if (upcaster == nullptr)
        return;
    Datum data = values[kData];
    Oid saved_user;
    int saved_context;
    GetUserIdAndSecContext(&saved_user, &saved_context);
    for (int steps = 0; upcaster != nullptr; steps++) {
        if (steps > 1000)
            ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                            errmsg("upcaster chain of event type \"%s\" is longer than 1000 versions", event_type)));
        SetUserIdAndSecContext(upcaster->owner,
                               saved_context | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
        LOCAL_FCINFO(call, 1);
        FmgrInfo flinfo;
        fmgr_info(upcaster->function, &flinfo);
        InitFunctionCallInfoData(*call, &flinfo, 1, InvalidOid, nullptr, nullptr);
        call->args[0].value = data;
        call->args[0].isnull = false;
        Datum result = FunctionCallInvoke(call);
        SetUserIdAndSecContext(saved_user, saved_context);
        if (call->isnull)
            ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                            errmsg("upcaster of event type \"%s\" from schema version %d returned NULL", event_type,
                                   version)));
        data = result;
        version++;
        upcaster = find_upcaster(event_type, version);
    }
    values[kData] = data;
    values[kSchemaVersion] = Int32GetDatum(version);
    nulls[kSchemaVersion] = false;
}

}  // namespace eventstore::pg

extern "C" {

PG_FUNCTION_INFO_V1(eventstore_upcast);

Datum eventstore_upcast(PG_FUNCTION_ARGS)
{
    if (PG_ARGISNULL(0))
        PG_RETURN_NULL();
    HeapTupleHeader event = PG_GETARG_HEAPTUPLEHEADER(0);
    if (!eventstore::pg::upcasters_registered())
        PG_RETURN_HEAPTUPLEHEADER(event);

    TupleDesc desc = lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(event), HeapTupleHeaderGetTypMod(event));
    HeapTupleData tuple;
    tuple.t_len = HeapTupleHeaderGetDatumLength(event);
    ItemPointerSetInvalid(&tuple.t_self);
    tuple.t_tableOid = InvalidOid;
    tuple.t_data = event;
    Datum *values = (Datum *)palloc(sizeof(Datum) * desc->natts);
    bool *nulls = (bool *)palloc(sizeof(bool) * desc->natts);
    heap_deform_tuple(&tuple, desc, values, nulls);
    const Datum data_before = values[kData];
    eventstore::pg::upcast_event_values(values, nulls);
    if (values[kData] == data_before) {
        ReleaseTupleDesc(desc);
        PG_RETURN_HEAPTUPLEHEADER(event);
    }
    HeapTuple upcast = heap_form_tuple(desc, values, nulls);
    ReleaseTupleDesc(desc);
    PG_RETURN_DATUM(HeapTupleGetDatum(upcast));
}

}  // extern "C"
