/*
 * job_transaction.cpp — begin/commit of a worker job's transaction (see the header).
 */
#include "pg/pg_includes.h"

#include "job_transaction.h"

extern "C" {
#include "access/xact.h"
#include "miscadmin.h"
#include "executor/spi.h"
#include "pgstat.h"
#include "utils/snapmgr.h"
}

namespace eventstore::worker {

void begin_job_transaction(const char *activity)
{
    SetCurrentStatementStartTimestamp();
    StartTransactionCommand();
    PushActiveSnapshot(GetTransactionSnapshot());
    pgstat_report_activity(STATE_RUNNING, activity);
    if (SPI_connect() != SPI_OK_CONNECT)
        elog(ERROR, "pg_eventstore worker: SPI_connect failed");
}

void commit_job_transaction()
{
    SPI_finish();
    PopActiveSnapshot();
    CommitTransactionCommand();
    pgstat_report_activity(STATE_IDLE, nullptr);
}

ErrorData *recover_from_error(MemoryContext caller, bool report)
{
    HOLD_INTERRUPTS();
    MemoryContextSwitchTo(caller);
    ErrorData *error = CopyErrorData();
    if (report)
        EmitErrorReport();
    AbortCurrentTransaction();
    FlushErrorState();
    RESUME_INTERRUPTS();
    return error;
}

}  // namespace eventstore::worker
