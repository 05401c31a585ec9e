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

void define_gucs()
{
    DefineCustomIntVariable("pg_eventstore.max_event_size",
                            "Largest accepted event: size of data plus metadata as stored (jsonb).",
                            "Appends of larger events fail with SQLSTATE 54000 and store nothing.",
                            &guc_max_event_size, 1024 * 1024, 64, 256 * 1024 * 1024, PGC_SUSET, GUC_UNIT_BYTE,
                            nullptr, nullptr, nullptr);
    MarkGUCPrefixReserved("pg_eventstore");
}

}  // namespace eventstore::pg
