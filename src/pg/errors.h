/*
 * errors.h — the SQLSTATEs pg_eventstore raises, and the one boundary guard
 * every SQL-callable entry point runs its body through.
 *
 * Why a guard: PostgreSQL reports errors with ereport(ERROR), a longjmp, and
 * C++ reports them with exceptions.  A C++ exception must never escape into
 * PostgreSQL's C frames, and a longjmp must never cross a frame that owns a
 * C++ object with a destructor.  So entry points keep only plain-data locals,
 * call C++ (src/core) only inside guarded_call(), and raise PostgreSQL errors
 * only after the catch block has been left.
 */
#ifndef EVENTSTORE_PG_ERRORS_H
#define EVENTSTORE_PG_ERRORS_H

#include "pg_includes.h"

#include <exception>
#include <new>

/* ES001: the stream's version is not what the caller expected. */
#define ERRCODE_ES_WRONG_EXPECTED_VERSION MAKE_SQLSTATE('E', 'S', '0', '0', '1')
/* ES002: an event id already stored with other content. */
#define ERRCODE_ES_EVENT_ID_REUSED MAKE_SQLSTATE('E', 'S', '0', '0', '2')

namespace eventstore::pg {

/*
 * Reports a C++ exception that was caught at the boundary.  Called after the
 * catch block has ended; what is NULL for out-of-memory.
 */
pg_attribute_noreturn() void report_cpp_failure(const char *what);

/* Room for an exception message copied out of a catch block (no palloc there). */
constexpr size_t kFailureMessageBytes = 512;
void copy_failure_message(char *buffer, const char *what);

/*
 * Runs body(), which may use C++ freely but must not call PostgreSQL
 * functions that can ereport(ERROR).  Any exception becomes an ERROR with
 * SQLSTATE XX000 (or 53200 for out-of-memory) once the catch block is left.
 */
template <typename Body>
void guarded_call(Body &&body)
{
    char failure[kFailureMessageBytes];
    bool failed = false;
    bool out_of_memory = false;
    try {
        body();
    } catch (const std::bad_alloc &) {
        out_of_memory = true;
    } catch (const std::exception &e) {
        copy_failure_message(failure, e.what());
        failed = true;
    } catch (...) {
        copy_failure_message(failure, "unknown C++ exception");
        failed = true;
    }
    if (out_of_memory)
        report_cpp_failure(nullptr);
    if (failed)
        report_cpp_failure(failure);
}

}  // namespace eventstore::pg

#endif
