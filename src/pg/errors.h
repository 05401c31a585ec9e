/*
 * errors.h — the SQLSTATEs pg_eventstore raises, and the one rule for every
 * crossing between C++ and PostgreSQL.
 *
 * Why a rule: PostgreSQL reports errors with ereport(ERROR), a longjmp, and
 * C++ reports them with exceptions.  A C++ exception must never escape into
 * PostgreSQL's (or librdkafka's) C frames: it would std::terminate the
 * process, and the postmaster would restart every backend of the cluster.
 * A longjmp must never cross a frame that owns a C++ object with a
 * destructor.  So, in SQL functions, hooks, callbacks and the worker jobs:
 *
 *   1. Code that can throw runs only inside guarded_call() or
 *      contained_call().  Outside them runs only plain C-style code and
 *      C++ that cannot throw (noexcept, or no allocation).
 *   2. guarded_call() is for code that may fail the current statement or
 *      worker round: an exception becomes an ERROR (XX000, or 53200 for
 *      out-of-memory), raised after the catch block was left.
 *   3. contained_call() is for places that must not raise an ERROR at all
 *      (an error handler, a librdkafka callback): an exception is swallowed
 *      and reported as `false`, for the caller to act on.
 *   4. Inside either, no PostgreSQL function that can ereport(ERROR) is
 *      called: the longjmp would skip the C++ destructors.  Code that needs
 *      both does its PostgreSQL part first, into plain data (palloc'd
 *      copies), and its C++ part inside the guard afterwards.
 *   5. State that C++ keeps between calls lives in long-lived heap objects
 *      (the publisher's state), never on a frame an ERROR can cross.
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

/*
 * Runs body() where no ERROR may be raised.  Returns false when it threw;
 * the exception is swallowed, its message copied into `failure` (room for
 * kFailureMessageBytes) when one is given.
 */
template <typename Body>
bool contained_call(Body &&body, char *failure = nullptr) noexcept
{
    try {
        body();
        return true;
    } catch (const std::bad_alloc &) {
        if (failure != nullptr)
            copy_failure_message(failure, "out of memory");
    } catch (const std::exception &e) {
        if (failure != nullptr)
            copy_failure_message(failure, e.what());
    } catch (...) {
        if (failure != nullptr)
            copy_failure_message(failure, "unknown C++ exception");
    }
    return false;
}

}  // namespace eventstore::pg

#endif
