/*
 * spi_helpers.cpp — shared SPI conveniences (see the header).
 */
#include "spi_helpers.h"

extern "C" {
#include "utils/builtins.h"
#include "utils/lsyscache.h"
}

namespace eventstore::pg {

SPIPlanPtr prepare_kept(const char *sql, int nargs, Oid *argtypes, int cursor_options)
{
    SPIPlanPtr plan = SPI_prepare_cursor(sql, nargs, argtypes, cursor_options);
    if (plan == nullptr)
        ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
                        errmsg("pg_eventstore: could not prepare \"%s\": %s", sql, SPI_result_code_string(SPI_result))));
    SPI_keepplan(plan);
    return plan;
}

void run_sql(const char *sql, int expected)
{
    const int rc = SPI_execute(sql, false, 0);
    if (rc != expected)
        ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
                        errmsg("pg_eventstore: \"%s\" failed: %s", sql, SPI_result_code_string(rc))));
}

void run_kept(SPIPlanPtr *plan, const char *sql, int expected)
{
    if (*plan == nullptr)
        *plan = prepare_kept(sql, 0, nullptr);
    const int rc = SPI_execute_plan(*plan, nullptr, nullptr, false, 0);
    if (rc != expected)
        ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
                        errmsg("pg_eventstore: \"%s\" failed: %s", sql, SPI_result_code_string(rc))));
}

ArrayType *array_of(Datum *values, bool *nulls, int count, Oid element_type)
{
    int16 length;
    bool by_value;
    char alignment;
    get_typlenbyvalalign(element_type, &length, &by_value, &alignment);
    int dims[1] = {count};
    int lower_bounds[1] = {1};
    return construct_md_array(values, nulls, 1, dims, lower_bounds, element_type, length, by_value, alignment);
}

}  // namespace eventstore::pg
