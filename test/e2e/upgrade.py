"""upgrade.py — ALTER EXTENSION pg_eventstore UPDATE on a store that has data.

A DBA installs a new pg_eventstore library on a server whose database has
extension version 0.1 with events in it, then updates the extension.  This
checks, on a real server with the worker:
  - before the update, the new library keeps sequencing the 0.1 database
    (nothing stalls between the package upgrade and ALTER EXTENSION);
  - the update keeps every event, position, ledger hash and outbox message,
    and verify_all stays clean;
  - the 0.2 objects exist and work (the sequencer's lock, category checks);
  - a fresh install of the default version has exactly the catalog of
    0.1 + update (objects, definitions, columns and privileges compared).

    python3 upgrade.py   (env from scripts/with_cluster.sh)
"""
import time
import sys

from cluster_control import DSN, query

# Everything that defines the extension's objects, one text line each.
CATALOG_FINGERPRINT = """
WITH members AS (
    SELECT d.classid, d.objid FROM pg_depend d JOIN pg_extension x ON x.oid = d.refobjid
    WHERE x.extname = 'pg_eventstore' AND d.deptype = 'e')
SELECT line FROM (
    SELECT pg_describe_object(m.classid, m.objid, 0) AS line FROM members m
    UNION ALL
    SELECT pg_get_functiondef(p.oid) || ' ACL ' || coalesce(p.proacl::text, '')
    FROM members m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid AND p.prokind <> 'a'
    UNION ALL
    SELECT c.relname || ' ' || c.relkind::text || ' ACL ' || coalesce(c.relacl::text, '') || ' ' ||
           coalesce(pg_get_viewdef(c.oid), '') || ' ' ||
           coalesce((SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' ' ||
                                       a.attnotnull || ' ' || coalesce(pg_get_expr(ad.adbin, ad.adrelid), ''),
                                       ', ' ORDER BY a.attnum)
                     FROM pg_attribute a LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
                     WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '')
    FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
    UNION ALL
    SELECT conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
    FROM pg_constraint WHERE connamespace = 'eventstore'::regnamespace
    UNION ALL
    SELECT pg_get_indexdef(indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
    WHERE c.relnamespace = 'eventstore'::regnamespace
    UNION ALL
    SELECT pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
    WHERE c.relnamespace = 'eventstore'::regnamespace AND NOT t.tgisinternal
    UNION ALL
    SELECT 'config ' || c.relname FROM pg_extension x, unnest(x.extconfig) AS t(oid)
    JOIN pg_class c ON c.oid = t.oid WHERE x.extname = 'pg_eventstore'
) lines ORDER BY line
"""


def sql(statement, params=None, dsn=DSN):
    return query(dsn, statement, params)


def state():
    """What must survive the update."""
    return sql("""SELECT (SELECT count(*) FROM eventstore.events),
                         (SELECT count(*) FROM eventstore.log_positions),
                         (SELECT encode(ledger_hash, 'hex') FROM eventstore.log_positions
                           ORDER BY global_position DESC LIMIT 1),
                         (SELECT count(*) FROM eventstore.outbox),
                         (SELECT string_agg(stream_id || ':' || version || ':' || encode(head_hash, 'hex'), ','
                                            ORDER BY stream_id) FROM eventstore.streams)""")[0]


def main():
    failures = []
    default_version = sql("SELECT default_version FROM pg_available_extensions WHERE name = 'pg_eventstore'")[0][0]
    sql("DROP EXTENSION pg_eventstore")
    sql("CREATE EXTENSION pg_eventstore VERSION '0.1'")
    print("installed %s (default version %s)" % (sql("SELECT extversion FROM pg_extension "
                                                    "WHERE extname = 'pg_eventstore'")[0][0], default_version))
    for n in range(200):
        sql("SELECT eventstore.append(%s, 'Deposited', %s::jsonb)", ("account-%d" % (n % 10), '{"n": %d}' % n))
    for n in range(3):
        sql("SELECT eventstore.publish('upgrade.notices', 'k', %s::jsonb)", ('{"n": %d}' % n,))
    if not sql("SELECT eventstore.wait_for_position(200, '30 seconds')")[0][0]:
        failures.append("the new library did not sequence the 0.1 database")
    before = state()
    print("0.1 with data: %s events, %s positions, outbox %s" % (before[0], before[1], before[3]))

    sql("ALTER EXTENSION pg_eventstore UPDATE")
    version = sql("SELECT extversion FROM pg_extension WHERE extname = 'pg_eventstore'")[0][0]
    after = state()
    ok, detail = sql("SELECT ok, detail FROM eventstore.verify_all()")[0]
    print("updated to %s: %s events, %s positions, outbox %s; verify_all: %s" % (version, after[0], after[1],
                                                                                 after[3], detail))
    if version != default_version:
        failures.append("ALTER EXTENSION UPDATE did not reach the default version")
    if after != before:
        failures.append("the update changed stored data: %s -> %s" % (before, after))
    if not ok:
        failures.append("verify_all after the update: %s" % detail)

    # The 0.2 objects work on the updated store.
    for n in range(20):
        sql("SELECT eventstore.append('account-1', 'Withdrawn', %s::jsonb)", ('{"n": %d}' % n,))
    if not sql("SELECT eventstore.wait_for_position(220, '30 seconds')")[0][0]:
        failures.append("the updated store does not sequence new events")
    if sql("SELECT count(*) FROM eventstore.check_categories(NULL)")[0][0] != 0:
        failures.append("check_categories reports problems on a clean store")
    if sql("SELECT to_regclass('eventstore.sequencer_lock') IS NULL")[0][0]:
        failures.append("eventstore.sequencer_lock is missing after the update")
    # A period policy on the category the 0.1 store filled counts its past,
    # and the late-event rule applies to the updated store's appends.
    sql("SELECT eventstore.set_period_policy('account', 'month')")
    for _ in range(300):
        if sql("SELECT counted_through >= 220 FROM eventstore.period_books_state")[0][0]:
            break
        time.sleep(0.1)
    books = sql("SELECT coalesce(sum(events), 0) FROM eventstore.period_books WHERE category = 'account'")[0][0]
    if books != 220:
        failures.append("the new period policy counted %s of the 220 account events" % books)
    sql("SELECT eventstore.append('account-1', 'Withdrawn', '{}', event_time => '2020-01-01')")
    if sql("SELECT count(*) FROM eventstore.late_events WHERE stream_id = 'account-1'")[0][0] != 1:
        failures.append("an event for a closed period of the updated store was not recorded as late")
    print("periods on the updated store: %s events in the books, late events %s"
          % (books, sql("SELECT count(*) FROM eventstore.late_events")[0][0]))

    # A fresh install of the default version is the same catalog as 0.1 + update.
    sql("DROP DATABASE IF EXISTS upgrade_fresh")
    sql("CREATE DATABASE upgrade_fresh")
    fresh_dsn = DSN.replace("dbname=%s" % DSN.split("dbname=")[1].split()[0], "dbname=upgrade_fresh")
    sql("CREATE EXTENSION pg_eventstore", dsn=fresh_dsn)
    updated = [row[0] for row in sql(CATALOG_FINGERPRINT)]
    fresh = [row[0] for row in sql(CATALOG_FINGERPRINT, dsn=fresh_dsn)]
    only_updated = sorted(set(updated) - set(fresh))
    only_fresh = sorted(set(fresh) - set(updated))
    print("catalog: %d lines after the update, %d in a fresh install, %d differ"
          % (len(updated), len(fresh), len(only_updated) + len(only_fresh)))
    for line in only_updated[:5]:
        print("  only after the update: %s" % line[:200])
    for line in only_fresh[:5]:
        print("  only in a fresh install: %s" % line[:200])
    if only_updated or only_fresh or not updated:
        failures.append("a fresh install and an updated one differ")
    sql("DROP DATABASE upgrade_fresh")

    for failure in failures:
        print("PROBLEM:", failure)
    if not failures:
        print("ok: 0.1 -> %s keeps every event, position and message, and matches a fresh install" % version)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
