/*
 * extension_relation.h — whether a table of pg_eventstore exists in this
 * database, and its OID.
 *
 * The worker serves databases at any extension version (and none): a step
 * that needs a table added in a later version (eventstore.aggregates,
 * eventstore.period_policies) first asks for it here, and does nothing
 * until it exists.  The tables belong to the extension, so one that exists
 * means the extension is installed at a version that has it.
 */
#ifndef EVENTSTORE_PG_EXTENSION_RELATION_H
#define EVENTSTORE_PG_EXTENSION_RELATION_H

#include "pg_includes.h"

namespace eventstore::pg {

/* eventstore.<name>, or InvalidOid when there is no such table (yet). Catalog caches only: cheap. */
Oid extension_relation(const char *name);

}  // namespace eventstore::pg

#endif
