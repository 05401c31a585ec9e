/*
 * shared_memory.h — how a part of pg_eventstore gets a struct in shared memory.
 *
 * Shared memory can only be requested while shared_preload_libraries is
 * processed, and initialized once the postmaster has created it (and again
 * after every crash restart).  Each part that needs some (the commit
 * doorbell, the workers' state) registers its struct here from _PG_init;
 * one pair of PostgreSQL hooks then requests and initializes them all.
 */
#ifndef EVENTSTORE_PG_SHARED_MEMORY_H
#define EVENTSTORE_PG_SHARED_MEMORY_H

#include "pg_includes.h"

extern "C" {
#include "storage/lwlock.h"
}

namespace eventstore::pg {

/*
 * init(memory, locks) runs once per shared-memory lifetime, with the struct
 * zeroed and `lwlocks` LWLocks of its own tranche (named like the struct).
 * *attached is set in every process to the struct's address.
 */
using SharedStructInit = void (*)(void *memory, LWLockPadded *locks);
void register_shared_struct(const char *name, size_t size, int lwlocks, SharedStructInit init, void **attached);

/* Installs the hooks; call once from _PG_init after the registrations. */
void install_shared_memory_hooks();

}  // namespace eventstore::pg

#endif
