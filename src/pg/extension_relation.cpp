/*
 * extension_relation.cpp — see extension_relation.h.
 */
#include "extension_relation.h"

extern "C" {
#include "catalog/namespace.h"
#include "utils/lsyscache.h"
}

namespace eventstore::pg {

Oid extension_relation(const char *name)
{
    const Oid schema = get_namespace_oid("eventstore", true);
    return OidIsValid(schema) ? get_relname_relid(name, schema) : InvalidOid;
}

}  // namespace eventstore::pg
