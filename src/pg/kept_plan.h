/*
 * kept_plan.h — a statement that is parsed and planned once per process and
 * kept: the one way pg_eventstore's C code runs a fixed SQL statement.
 *
 *   static KeptPlan lock_stream = {"SELECT ... WHERE stream_id = $1 FOR UPDATE", 1, {TEXTOID}};
 *   run_kept_plan(lock_stream, args, nullptr, false, 1, SPI_OK_SELECT);
 *
 * The plan is prepared on first use (inside an SPI connection) and kept for
 * the life of the process (SPI_keepplan); PostgreSQL invalidates and
 * replans it when a table it uses changes.  cursor_options chooses how it is
 * planned: CURSOR_OPT_CUSTOM_PLAN for a statement whose best plan depends on
 * its parameter values (a range scan that must not become a generic full
 * join once the table is large), CURSOR_OPT_GENERIC_PLAN for one planned
 * once whatever the values.
 */
#ifndef EVENTSTORE_PG_KEPT_PLAN_H
#define EVENTSTORE_PG_KEPT_PLAN_H

#include "pg_includes.h"

extern "C" {
#include "executor/spi.h"
}

namespace eventstore::pg {

constexpr int kKeptPlanMaxArgs = 12;

struct KeptPlan {
    const char *sql;
    int nargs;
    Oid argtypes[kKeptPlanMaxArgs];
    int cursor_options = 0;
    SPIPlanPtr plan = nullptr; /* prepared on first use */
};

/* The statement's plan, prepared on first use. */
SPIPlanPtr kept_plan(KeptPlan &statement);

/*
 * Runs the statement; an ERROR naming it unless SPI answers `expected`.
 * read_only = false takes a fresh snapshot for the statement (and sees this
 * transaction's earlier writes); limit 0 = all rows.
 */
void run_kept_plan(KeptPlan &statement, Datum *args, const char *nulls, bool read_only, long limit, int expected);

}  // namespace eventstore::pg

#endif
