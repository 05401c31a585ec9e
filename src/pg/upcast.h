/*
 * upcast.h — an event's data brought to its type's newest schema version by
 * the registered upcasters, for every read path (upcast.cpp has the rules).
 *
 * eventstore.upcast(event_record) serves SQL callers; the log reader (the
 * read functions) calls upcast_event_values() on the columns it is about to
 * return, so a read with no upcasters registered costs one cached check.
 */
#ifndef EVENTSTORE_PG_UPCAST_H
#define EVENTSTORE_PG_UPCAST_H

#include "pg_includes.h"

namespace eventstore::pg {

/* Whether any upcaster is registered (read once per statement). */
bool upcasters_registered();

/*
 * Upcasts in place an event given as eventstore.event_record's columns, in
 * that type's order: data and schema_version change when an upcaster
 * applies, nothing else does.
 */
void upcast_event_values(Datum *values, bool *nulls);

}  // namespace eventstore::pg

#endif
