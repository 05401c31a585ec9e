/*
 * spi_helpers.h — the small SPI conveniences every SQL-running part of
 * pg_eventstore shares (the append path, the sequencer, the publisher).
 */
#ifndef EVENTSTORE_PG_SPI_HELPERS_H
#define EVENTSTORE_PG_SPI_HELPERS_H

#include "pg_includes.h"

extern "C" {
#include "executor/spi.h"
#include "utils/array.h"
}

namespace eventstore::pg {

/*
 * Prepares a statement once and keeps the plan for the life of the process.
 * cursor_options: e.g. CURSOR_OPT_CUSTOM_PLAN for a statement whose best plan
 * depends on its parameter values (a range scan that must not become a
 * generic full join once the table is large).
 */
SPIPlanPtr prepare_kept(const char *sql, int nargs, Oid *argtypes, int cursor_options = 0);

/* Runs a parameterless statement; an ERROR unless SPI answers `expected`. */
void run_sql(const char *sql, int expected);

/*
 * The same for a statement run again and again (every worker round): it is
 * parsed and planned once, into *plan, and the plan is kept.
 */
void run_kept(SPIPlanPtr *plan, const char *sql, int expected);

/* A one-dimensional array of `count` values (nulls may be NULL: no nulls). */
ArrayType *array_of(Datum *values, bool *nulls, int count, Oid element_type);

}  // namespace eventstore::pg

#endif
