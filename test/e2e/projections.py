"""projections.py — projections keep read models exactly once, in order,
through crashes and rebuilds, on a real server with the worker family.

Three projections keep the same read model (per stream: how many events,
and the sum of the payload's "n") three ways: a per-event PL/pgSQL handler,
a per-batch handler over the event array, and set-based SQL over the batch
relation.  The multi-client load of eventstore_load.py appends (8 clients,
batches, hot streams, expected-version conflicts, rollbacks, transactions
held open) and knows exactly what committed.  After each scenario every read
model must equal the same aggregate computed directly from the log: an
event applied twice or lost, or a rolled-back event applied, shows.

  steady          200,000 events
  kill-projector  the projector is SIGKILLed mid-batch (the postmaster
                  restarts the whole server; clients reconnect and retry)
  immediate-stop  `pg_ctl stop -m immediate` mid-load, then start
  rebuild         a rebuild of the SQL projection under continuous appends
                  while a reader checks, statement after statement, that the
                  read model it sees is complete for the position it sees

    python3 projections.py SCENARIO   (env from scripts/with_cluster.sh)
"""
import os
import signal
import sys
import threading
import time

from cluster_control import DSN, query, restart_immediately, worker_pid
from eventstore_load import check_sequenced_log, connect, run_load, wait_until_sequenced

SETUP = """
CREATE SCHEMA projection_code;
CREATE SCHEMA by_event; CREATE SCHEMA by_batch; CREATE SCHEMA by_sql;
CREATE TABLE by_event.totals (stream_id text PRIMARY KEY, events bigint NOT NULL, total bigint NOT NULL);
CREATE TABLE by_batch.totals (stream_id text PRIMARY KEY, events bigint NOT NULL, total bigint NOT NULL);
CREATE TABLE by_sql.totals (stream_id text PRIMARY KEY, events bigint NOT NULL, total bigint NOT NULL);
CREATE FUNCTION projection_code.apply_event(e eventstore.event_record) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO totals AS t VALUES (e.stream_id, 1, (e.data->>'n')::bigint)
    ON CONFLICT (stream_id) DO UPDATE SET events = t.events + 1, total = t.total + excluded.total;
END $$;
CREATE FUNCTION projection_code.apply_batch(es eventstore.event_record[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO totals AS t
    SELECT e.stream_id, count(*), sum((e.data->>'n')::bigint) FROM unnest(es) e GROUP BY 1
    ON CONFLICT (stream_id) DO UPDATE SET events = t.events + excluded.events, total = t.total + excluded.total;
END $$;
SELECT eventstore.create_projection('by_event', 'projection_code.apply_event(eventstore.event_record)');
SELECT eventstore.create_projection('by_batch', 'projection_code.apply_batch(eventstore.event_record[])');
SELECT eventstore.create_projection('by_sql', sql => $$
    INSERT INTO totals AS t
    SELECT stream_id, count(*), sum((data->>'n')::bigint) FROM batch GROUP BY 1
    ON CONFLICT (stream_id) DO UPDATE SET events = t.events + excluded.events, total = t.total + excluded.total$$);
"""

DIRECT = """
SELECT stream_id, count(*) AS events, sum((data->>'n')::bigint) AS total
FROM eventstore.events GROUP BY 1
"""


def sql(statement, params=None):
    return query(DSN, statement, params)


def wait_until_projected(timeout=300):
    last = sql("SELECT max(global_position) FROM eventstore.log_positions")[0][0] or 0
    connection = connect(DSN, time.time() + 60)
    connection.autocommit = True
    cursor = connection.cursor()
    deadline = time.time() + timeout
    for name in ("by_event", "by_batch", "by_sql"):
        while True:
            cursor.execute("SELECT eventstore.wait_for_projection(%s, %s, '5 seconds')", (name, last))
            if cursor.fetchone()[0]:
                break
            if time.time() > deadline:
                raise AssertionError("projection %s did not reach %d: %s" % (
                    name, last, sql("SELECT * FROM eventstore.projection_status WHERE name = %s", (name,))))
    connection.close()
    return last


def compare_read_models(ledger):
    """Every read model against the log; returns a list of problems."""
    wait_until_sequenced(DSN, len(ledger.committed))
    problems, sequenced = check_sequenced_log(DSN, ledger)
    last = wait_until_projected()
    print("committed %d (rolled back %d, retries after disconnects %d), sequenced %d, projected to %d"
          % (len(ledger.committed), len(ledger.rolled_back), ledger.retries, sequenced, last), flush=True)
    for name in ("by_event", "by_batch", "by_sql"):
        missing = sql("(%s) EXCEPT SELECT * FROM %s.totals" % (DIRECT, name))
        extra = sql("SELECT * FROM %s.totals EXCEPT (%s)" % (name, DIRECT))
        streams, events = sql("SELECT count(*), coalesce(sum(events), 0) FROM %s.totals" % name)[0]
        print("%s: %d streams, %d events applied; differing rows: %d missing, %d extra"
              % (name, streams, events, len(missing), len(extra)), flush=True)
        if missing or extra:
            problems.append("%s differs from the log, e.g. missing %s extra %s" % (name, missing[:2], extra[:2]))
        if events != len(ledger.committed):
            problems.append("%s applied %d events, %d committed" % (name, events, len(ledger.committed)))
    states = sql("SELECT name, state, last_error FROM eventstore.projection_status ORDER BY name")
    if any(state != "running" for _, state, _ in states):
        problems.append("projections not running: %s" % states)
    return problems


def report(problems):
    for problem in problems:
        print("PROBLEM:", problem)
    if not problems:
        print("ok: every read model equals the log, each event applied exactly once")
    return 1 if problems else 0


def crash_during_load(events, crash):
    def saboteur(ledger):
        while ledger.count() < events // 3:
            time.sleep(0.05)
        crash()
    return run_load(DSN, seed=5, target_events=events, during=saboteur)


def scenario_steady():
    return report(compare_read_models(run_load(DSN, seed=3, target_events=200000)))


def scenario_kill_projector():
    def crash():
        before = sql("SELECT name, \"position\" FROM eventstore.projections ORDER BY name")
        pid = worker_pid(job="projector")
        os.kill(pid, signal.SIGKILL)
        print("killed the projector %d at positions %s" % (pid, before), flush=True)
    return report(compare_read_models(crash_during_load(60000, crash)))


def scenario_immediate_stop():
    return report(compare_read_models(crash_during_load(60000, restart_immediately)))


# Within one statement (one snapshot): the projection's position, the sum its
# read model holds, and the sum of every event up to that position.
READER = """
SELECT p."position",
       (SELECT coalesce(sum(total), 0) FROM by_sql.totals),
       (SELECT coalesce(sum((e.data->>'n')::bigint), 0)
          FROM eventstore.log_positions lp
          JOIN eventstore.events e ON e.stream_id = lp.stream_id AND e.stream_version = lp.stream_version
         WHERE lp.global_position <= p."position")
FROM eventstore.projections p WHERE p.name = 'by_sql'
"""


def scenario_rebuild():
    reads = {"count": 0, "bad": [], "saw_rebuilding": False}
    stop = threading.Event()

    def reader():
        connection = connect(DSN, time.time() + 60)
        connection.autocommit = True
        cursor = connection.cursor()
        while not stop.is_set():
            try:
                cursor.execute(READER)
                position, held, expected = cursor.fetchone()
            except Exception as error:  # a read that fails is a finding too
                reads["bad"].append("read failed: %s" % error)
                continue
            reads["count"] += 1
            if held != expected:
                reads["bad"].append("at position %d the read model holds %d, the log %d" % (position, held, expected))
            time.sleep(0.01)
        connection.close()

    def rebuilder(ledger):
        while ledger.count() < 15000:
            time.sleep(0.05)
        sql("SELECT eventstore.rebuild_projection('by_sql')")
        print("rebuild started at %d committed events" % ledger.count(), flush=True)
        deadline = time.time() + 240
        while time.time() < deadline:
            state, rebuild_position = sql("SELECT state, rebuild_position FROM eventstore.projection_status "
                                          "WHERE name = 'by_sql'")[0]
            if state == "rebuilding":
                reads["saw_rebuilding"] = True
            if state == "running" and rebuild_position is None:
                print("rebuild switched in at %d committed events" % ledger.count(), flush=True)
                return
            time.sleep(0.1)

    reading = threading.Thread(target=reader)
    reading.start()
    ledger = run_load(DSN, seed=7, target_events=60000, during=rebuilder)
    problems = compare_read_models(ledger)
    stop.set()
    reading.join()
    schemas = sql("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'by\\_sql%' ORDER BY 1")
    print("reader: %d consistent reads, %d inconsistent; schemas now %s"
          % (reads["count"] - len(reads["bad"]), len(reads["bad"]), schemas), flush=True)
    if reads["bad"]:
        problems.append("a reader saw an incomplete read model: %s" % reads["bad"][:3])
    if not reads["saw_rebuilding"]:
        problems.append("the rebuild never showed as rebuilding")
    if schemas != [("by_sql",)]:
        problems.append("the rebuild did not switch in cleanly: schemas %s" % schemas)
    return report(problems)


SCENARIOS = {
    "steady": scenario_steady,
    "kill-projector": scenario_kill_projector,
    "immediate-stop": scenario_immediate_stop,
    "rebuild": scenario_rebuild,
}

if __name__ == "__main__":
    query(DSN, SETUP)
    sys.exit(SCENARIOS[sys.argv[1]]())
