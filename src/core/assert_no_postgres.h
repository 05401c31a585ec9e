/*
 * assert_no_postgres.h — compile-time wall between src/core and PostgreSQL.
 *
 * Every file in src/core includes this header last.  If any PostgreSQL
 * header slipped in (directly or through another include), the build stops
 * here.  src/core must stay plain C++ so it can be unit-tested without a
 * server and so PostgreSQL's longjmp-based error handling never runs through
 * C++ frames that own destructors.  The CMake build additionally compiles
 * src/core without the PostgreSQL include path at all.
 */
#ifndef EVENTSTORE_CORE_ASSERT_NO_POSTGRES_H
#define EVENTSTORE_CORE_ASSERT_NO_POSTGRES_H

#if defined(POSTGRES_H) || defined(PG_VERSION_NUM) || defined(FMGR_H) || defined(C_H)
#error "src/core must not include PostgreSQL headers"
#endif

#endif
