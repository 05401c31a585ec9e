/*
 * module.cpp — the extension's entry: PG_MODULE_MAGIC and _PG_init.
 *
 * _PG_init defines the GUCs.  When loaded through shared_preload_libraries it
 * also reserves shared memory and registers the background worker (see
 * src/worker); loaded on demand it only serves SQL functions.
 */
#include "pg_includes.h"

#include "gucs.h"

extern "C" {

PG_MODULE_MAGIC;

void _PG_init(void);

void _PG_init(void)
{
    eventstore::pg::define_gucs();
}

}  // extern "C"
