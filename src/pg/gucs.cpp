/*
 * gucs.cpp — registers the pg_eventstore.* parameters.
 */
#include "gucs.h"

#include "pg_includes.h"

extern "C" {
#include "utils/guc.h"
}

namespace eventstore::pg {

int guc_max_event_size = 1024 * 1024;
char *guc_database = nullptr;
int guc_worker_naptime_ms = 1000;

void define_gucs()
{
    DefineCustomIntVariable("pg_eventstore.max_event_size",
                            "Largest accepted event: size of data plus metadata as stored (jsonb).",
                            "Appends of larger events fail with SQLSTATE 54000 and store nothing.",
                            &guc_max_event_size, 1024 * 1024, 64, 256 * 1024 * 1024, PGC_SUSET, GUC_UNIT_BYTE,
                            nullptr, nullptr, nullptr);
    DefineCustomStringVariable("pg_eventstore.database",
                               "Database whose event log the background worker sequences.",
                               "The extension must be created in this database.", &guc_database, "postgres",
                               PGC_POSTMASTER, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("pg_eventstore.worker_naptime",
                            "How long the worker sleeps when no commit wakes it.",
                            "Commits wake the worker at once; this is the safety net (for example for "
                            "prepared transactions committed later).",
                            &guc_worker_naptime_ms, 1000, 10, 60 * 1000, PGC_SIGHUP, GUC_UNIT_MS, nullptr, nullptr,
                            nullptr);
    MarkGUCPrefixReserved("pg_eventstore");
}

}  // namespace eventstore::pg
