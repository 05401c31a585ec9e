/*
 * kept_plan.cpp — statements prepared once and kept (see the header).
 */
#include "kept_plan.h"

namespace eventstore::pg {

SPIPlanPtr kept_plan(KeptPlan &statement)
{
    if (statement.plan == nullptr) {
        SPIPlanPtr plan = SPI_prepare_cursor(statement.sql, statement.nargs, statement.argtypes,
                                             statement.cursor_options);
        if (plan == nullptr)
            ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
                            errmsg("pg_eventstore: could not prepare \"%s\": %s", statement.sql,
                                   SPI_result_code_string(SPI_result))));
        SPI_keepplan(plan);
        statement.plan = plan;
    }
    return statement.plan;
}

void run_kept_plan(KeptPlan &statement, Datum *args, const char *nulls, bool read_only, long limit, int expected)
{
    const int rc = SPI_execute_plan(kept_plan(statement), args, nulls, read_only, limit);
    if (rc != expected)
        ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
                        errmsg("pg_eventstore: \"%s\" failed: %s", statement.sql, SPI_result_code_string(rc))));
}

}  // namespace eventstore::pg
