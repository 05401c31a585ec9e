/*
 * shared_memory.cpp — requests and initializes the registered shared structs
 * (see the header).
 */
#include "shared_memory.h"

#include <cstring>

extern "C" {
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/shmem.h"
}

namespace eventstore::pg {
namespace {

struct SharedStruct {
    const char *name;
    size_t size;
    int lwlocks;
    SharedStructInit init;
    void **attached;
};

/* Filled from _PG_init (plain data: a handful of entries, never freed). */
constexpr int kMaxSharedStructs = 8;
SharedStruct registered[kMaxSharedStructs];
int registered_count = 0;

shmem_request_hook_type previous_request_hook = nullptr;
shmem_startup_hook_type previous_startup_hook = nullptr;

void request_shared_structs(void)
{
    if (previous_request_hook)
        previous_request_hook();
    for (int i = 0; i < registered_count; i++) {
        RequestAddinShmemSpace(MAXALIGN(registered[i].size));
        if (registered[i].lwlocks > 0)
            RequestNamedLWLockTranche(registered[i].name, registered[i].lwlocks);
    }
}

void attach_shared_structs(void)
{
    if (previous_startup_hook)
        previous_startup_hook();
    LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
    for (int i = 0; i < registered_count; i++) {
        const SharedStruct &entry = registered[i];
        bool found;
        void *memory = ShmemInitStruct(entry.name, entry.size, &found);
        if (!found) {
            memset(memory, 0, entry.size);
            entry.init(memory, entry.lwlocks > 0 ? GetNamedLWLockTranche(entry.name) : nullptr);
        }
        *entry.attached = memory;
    }
    LWLockRelease(AddinShmemInitLock);
}

}  // namespace

void register_shared_struct(const char *name, size_t size, int lwlocks, SharedStructInit init, void **attached)
{
    if (registered_count == kMaxSharedStructs)
        elog(ERROR, "pg_eventstore: too many shared structs");
    registered[registered_count++] = SharedStruct{name, size, lwlocks, init, attached};
}

void install_shared_memory_hooks()
{
    previous_request_hook = shmem_request_hook;
    shmem_request_hook = request_shared_structs;
    previous_startup_hook = shmem_startup_hook;
    shmem_startup_hook = attach_shared_structs;
}

}  // namespace eventstore::pg
