/*
 * period_keeper.cpp — see period_keeper.h.
 *
 * C-style glue with plain-data locals: every SPI call may ereport(ERROR).
 */
#include "period_keeper.h"

#include "job_slot.h"
#include "job_transaction.h"
#include "pg/extension_relation.h"
#include "pg/kept_plan.h"

extern "C" {
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
}

namespace eventstore::worker {
namespace {

using pg::KeptPlan;
using pg::run_kept_plan;

/* Positions counted per transaction: a stretch commits in well under a second. */
constexpr int kBooksStretch = 5000;

/* How often the clock looks at the time: periods move at most this late. */
constexpr long kClockIntervalMs = 1000;

/*
 * How often the books count under a steady load.  A count costs about the
 * same for 5 positions as for 500 (0.7 ms against a fixed part of 0.3 ms),
 * and the projector's rounds follow the sequencer's, every few events: the
 * books counting every round cost +58 us of worker CPU per append and
 * brought appends with periods to 0.93x of appends without.  Every 100 ms
 * the books are still at most a few tenths of a second behind.
 */
constexpr long kBooksIntervalMs = 100;

KeptPlan count_books_statement = {"SELECT eventstore.count_period_books($1)", 1, {INT4OID}};

KeptPlan categories_statement = {
    "SELECT category FROM eventstore.period_policies ORDER BY category", 0, {}};

/*
 * The clock waits for appends in flight at most this long (not the
 * pg_eventstore.period_lock_timeout an admin's close waits): appends queue
 * behind a waiting move, and the clock runs again within a second.
 */
constexpr int kClockLockTimeoutMs = 100;
KeptPlan clock_lock_timeout_statement = {
    "SELECT pg_catalog.set_config('pg_eventstore.period_lock_timeout', '100', true)", 0, {}};
static_assert(kClockLockTimeoutMs == 100, "clock_lock_timeout_statement spells the value out");

KeptPlan clock_statement = {
    "SELECT eventstore.run_period_clock(pg_catalog.now(), $1)", 1, {TEXTOID}};

TimestampTz next_clock_run = 0;
TimestampTz next_books_run = 0;

/* Whether the extension in this database has periods (0.2 or later). */
bool periods_installed()
{
    return OidIsValid(pg::extension_relation("period_policies"));
}

bool count_books()
{
    begin_job_transaction("pg_eventstore: counting period books");
    bool more = false;
    if (periods_installed()) {
        Datum args[1] = {Int32GetDatum(kBooksStretch)};
        run_kept_plan(count_books_statement, args, nullptr, false, 0, SPI_OK_SELECT);
        bool isnull;
        more = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
    }
    commit_job_transaction();
    return more;
}

void run_clock()
{
    const TimestampTz now = GetCurrentTimestamp();
    if (now < next_clock_run)
        return;
    next_clock_run = TimestampTzPlusMilliseconds(now, kClockIntervalMs);

    /* The categories are copied into the round's memory, which outlives the transactions. */
    MemoryContext round = CurrentMemoryContext;
    begin_job_transaction("pg_eventstore: period clock");
    int count = 0;
    char **categories = nullptr;
    if (periods_installed()) {
        run_kept_plan(categories_statement, nullptr, nullptr, false, 0, SPI_OK_SELECT);
        count = (int)SPI_processed;
        MemoryContext spi = MemoryContextSwitchTo(round);
        categories = (char **)palloc(sizeof(char *) * (count > 0 ? count : 1));
        for (int i = 0; i < count; i++)
            categories[i] = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
        MemoryContextSwitchTo(spi);
    }
    commit_job_transaction();
    for (int i = 0; i < count; i++) {
        /*
         * One category's failure (an append transaction left open holds its
         * period lock: 55P03 after kClockLockTimeoutMs) is reported and
         * skips that category until the next run; the others and the books
         * go on.
         */
        PG_TRY();
        {
            begin_job_transaction("pg_eventstore: period clock");
            run_kept_plan(clock_lock_timeout_statement, nullptr, nullptr, false, 0, SPI_OK_SELECT);
            Datum args[1] = {CStringGetTextDatum(categories[i])};
            run_kept_plan(clock_statement, args, nullptr, false, 0, SPI_OK_SELECT);
            commit_job_transaction();
        }
        PG_CATCH();
        {
            ErrorData *error = recover_from_error(round, true);
            record_job_error(psprintf("period clock: %s", error->message));
            FreeErrorData(error);
        }
        PG_END_TRY();
    }
}

}  // namespace

long keep_periods()
{
    long sleep_ms = -1;
    const TimestampTz now = GetCurrentTimestamp();
    if (now >= next_books_run) {
        const bool more = count_books();
        next_books_run = more ? now : TimestampTzPlusMilliseconds(now, kBooksIntervalMs);
        sleep_ms = more ? 0 : -1;
    } else {
        /* Woken by the sequencer before the interval is up: come back when it is. */
        long seconds;
        int microseconds;
        TimestampDifference(now, next_books_run, &seconds, &microseconds);
        sleep_ms = seconds * 1000 + microseconds / 1000 + 1;
    }
    run_clock();
    return sleep_ms;
}

}  // namespace eventstore::worker
