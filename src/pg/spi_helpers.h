/*
 * spi_helpers.h — the small SPI conveniences every SQL-running part of
 * pg_eventstore shares (the append path, the sequencer, the publisher).
 * Fixed statements are KeptPlans (kept_plan.h).
 */
#ifndef EVENTSTORE_PG_SPI_HELPERS_H
#define EVENTSTORE_PG_SPI_HELPERS_H

#include "pg_includes.h"

extern "C" {
#include "executor/spi.h"
#include "utils/array.h"
}

namespace eventstore::pg {

/* A one-dimensional array of `count` values (nulls may be NULL: no nulls). */
ArrayType *array_of(Datum *values, bool *nulls, int count, Oid element_type);

}  // namespace eventstore::pg

#endif
