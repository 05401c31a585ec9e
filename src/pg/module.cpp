/*
 * module.cpp — the extension's entry: PG_MODULE_MAGIC and _PG_init.
 *
 * _PG_init defines the GUCs.  When loaded through shared_preload_libraries it
 * also reserves shared memory and registers the background worker (see
 * src/worker); loaded on demand it only serves SQL functions.
 */
#include "pg_includes.h"

#include "gucs.h"
#include "shared_state.h"
#include "worker/worker_registration.h"

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
    eventstore::pg::install_shared_state_hooks();
    eventstore::worker::register_worker();
}

}  // extern "C"
