/*
 * gucs.h — pg_eventstore's configuration parameters (pg_eventstore.*).
 *
 * Defined once in define_gucs(), called from _PG_init.  docs/configuration.md
 * documents each one.
 */
#ifndef EVENTSTORE_PG_GUCS_H
#define EVENTSTORE_PG_GUCS_H

namespace eventstore::pg {

/* pg_eventstore.max_event_size: bytes of data + metadata (jsonb) per event. */
extern int guc_max_event_size;

void define_gucs();

}  // namespace eventstore::pg

#endif
