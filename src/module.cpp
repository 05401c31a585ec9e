/*
 * module.cpp — the extension's entry: PG_MODULE_MAGIC and _PG_init.
 *
 * _PG_init defines the GUCs.  When loaded through shared_preload_libraries
 * it also registers the shared memory (the commit doorbell in src/pg, the
 * workers' state in src/worker) and the launcher of the worker family;
 * loaded on demand it only serves SQL functions.  It is the one file that
 * knows both src/pg and src/worker: the toolkit in src/pg knows nothing of
 * the worker.
 */
#include "pg/pg_includes.h"

#include "pg/commit_doorbell.h"
#include "pg/period_guard.h"
#include "pg/gucs.h"
#include "pg/shared_memory.h"
#include "worker/launcher.h"
#include "worker/shared_state.h"

extern "C" {
#include "miscadmin.h"
}

extern "C" {

PG_MODULE_MAGIC;

void _PG_init(void);

void _PG_init(void)
{
    eventstore::pg::define_gucs();
    if (!process_shared_preload_libraries_in_progress)
        return;
    eventstore::pg::register_commit_doorbell();
    eventstore::pg::register_period_rules_counter();
    eventstore::worker::register_worker_shared_state();
    eventstore::pg::install_shared_memory_hooks();
    eventstore::worker::register_launcher();
}

}  // extern "C"
