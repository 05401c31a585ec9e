/*
 * errors.cpp — turns C++ failures caught at the boundary into PostgreSQL errors.
 */
#include "errors.h"

#include <cstring>

namespace eventstore::pg {

void copy_failure_message(char *buffer, const char *what)
{
    /* No PostgreSQL call here: this runs inside a catch block. */
    std::strncpy(buffer, what != nullptr ? what : "", kFailureMessageBytes - 1);
    buffer[kFailureMessageBytes - 1] = '\0';
}

void report_cpp_failure(const char *what)
{
    if (what == nullptr)
        ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("pg_eventstore: out of memory in C++ code")));
    ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("pg_eventstore internal error: %s", what)));
    pg_unreachable();
}

}  // namespace eventstore::pg
