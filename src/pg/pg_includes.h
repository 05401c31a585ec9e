/*
 * pg_includes.h — the one place src/pg pulls in PostgreSQL's C headers.
 *
 * PostgreSQL headers are C; wrapping them in extern "C" keeps the symbols
 * unmangled.  Only files under src/pg and src/worker include this.
 */
#ifndef EVENTSTORE_PG_INCLUDES_H
#define EVENTSTORE_PG_INCLUDES_H

extern "C" {
#include "postgres.h"
#include "fmgr.h"
}

#endif
