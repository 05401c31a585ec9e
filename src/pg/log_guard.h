/*
 * log_guard.h — keeps the event log append-only.
 *
 * The trigger function eventstore.log_guard() is attached (statement level)
 * to UPDATE, DELETE and TRUNCATE on the log tables and refuses every such
 * statement, whoever runs it.  The append path never needs one: it moves a
 * stream's head and inserts events through the table access methods
 * (log_writer.h), which fire no triggers.  A superuser can still disable the
 * trigger itself (ALTER TABLE ... DISABLE TRIGGER, session_replication_role);
 * the hash chain, verify_stream()/verify_all() and the anchored checkpoints
 * (docs/tamper-evidence.md) exist to detect exactly that.
 *
 * Inserts other than appends are allowed to the owner because pg_restore
 * must load the extension's data; eventstore.stamp_restored_event() gives
 * every row inserted by SQL a transaction id of this cluster so the
 * sequencer can order it.
 */
#ifndef EVENTSTORE_PG_LOG_GUARD_H
#define EVENTSTORE_PG_LOG_GUARD_H

#include "pg_includes.h"

#endif
