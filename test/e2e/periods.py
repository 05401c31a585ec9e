"""periods.py — period closes racing with appends, on a real server with the
worker family, checked against the log (docs/periods.md).

Six clients append sales to the 'branch' category (daily periods of March
2025, which an admin closes, reopens and closes again) and to the 'shift'
category (daily periods around today, which a simulated period clock,
run_period_clock with a time that moves ahead, soft-closes and closes).
Some transactions roll back, some append to both categories, batches
straddle periods.  An admin resolves late events with every action while
this goes on.  A client that loses its connection retries the same call
with the same event ids until it is answered, so the set of committed
events is known exactly.

Then, from the log alone:
  * every committed event is stored once and nothing else is;
  * for every closed period, the books' count at its close equals the
    events of the period before the close record in the global order that
    were not late for a closed period (unless accepted into it before the
    close), and every event of the period after the close record is a late
    event: never both, never neither;
  * the books (real time and counted) equal a recount from the events and
    the late events;
  * verify_all is clean.

    python3 periods.py race|kill-projector|immediate-stop
"""
import json
import os
import random
import signal
import sys
import threading
import time
import uuid

import psycopg2

from cluster_control import DSN, query, restart_immediately, worker_pid
from eventstore_load import connect

SETUP = """
SELECT eventstore.set_period_policy('branch', 'day', 'UTC', '3650 days', '3650 days', '{amount}');
SELECT eventstore.set_period_policy('shift', 'day', 'UTC', '1 day', '2 days', '{amount}');
"""
BRANCH_DAYS = ["2025-03-%02d" % d for d in range(1, 7)]


def sql(statement, params=None):
    return query(DSN, statement, params)


class Ledger:
    def __init__(self):
        self.lock = threading.Lock()
        self.committed = {}
        self.rolled_back = 0
        self.retries = 0

    def add(self, events):
        with self.lock:
            for event_id, stream in events:
                self.committed[event_id] = stream


def shift_day(offset):
    return time.strftime("%Y-%m-%d", time.gmtime(time.time() + offset * 86400))


def random_event(rng, category):
    if category == "branch":
        when = "%sT%02d:%02d:00Z" % (rng.choice(BRANCH_DAYS), rng.randrange(24), rng.randrange(60))
    else:
        when = "%sT%02d:00:00Z" % (shift_day(rng.randrange(-1, 6)), rng.randrange(24))
    return (str(uuid.UUID(int=rng.getrandbits(128))), {"amount": rng.randrange(1, 1000)}, when)


def append(cursor, stream, events):
    rows = ",".join(cursor.mogrify("ROW(%s, 'Sold', %s::jsonb, NULL, %s, 1)",
                                   (i, json.dumps(d), t)).decode() for i, d, t in events)
    cursor.execute("SELECT eventstore.append_batch(%s, ARRAY[" + rows + "]::eventstore.new_event[])", (stream,))


def client(number, ledger, stop, seed):
    rng = random.Random(seed * 100 + number)
    connection = connect(DSN, time.time() + 120)
    while not stop.is_set():
        calls = []
        for _ in range(rng.choice([1, 1, 1, 2])):
            category = rng.choice(["branch", "branch", "shift"])
            stream = "%s-%d" % (category, rng.randrange(20))
            calls.append((stream, [random_event(rng, category) for _ in range(rng.choice([1, 1, 3]))]))
        roll_back = rng.random() < 0.15
        while True:
            try:
                cursor = connection.cursor()
                for stream, events in calls:
                    append(cursor, stream, events)
                if roll_back:
                    connection.rollback()
                    ledger.rolled_back += 1
                else:
                    connection.commit()
                    ledger.add([(e[0], stream) for stream, events in calls for e in events])
                break
            except psycopg2.errors.DeadlockDetected:
                connection.rollback()
            except psycopg2.Error as error:
                if error.pgcode is not None and not connection.closed:
                    raise  # the server answered: a real error
                # Lost the server (crash scenarios): the same calls again, same ids.
                ledger.retries += 1
                connection = connect(DSN, time.time() + 120)
    connection.close()


def admin(stop, seed, saboteur):
    rng = random.Random(seed)
    connection = connect(DSN, time.time() + 120)
    connection.autocommit = True
    clock_offset = 0.0
    actions = {"closes": 0, "reopens": 0, "clock": 0, "resolved": 0}
    started = time.time()
    sabotaged = saboteur is None
    while not stop.is_set():
        try:
            cursor = connection.cursor()
            choice = rng.random()
            if choice < 0.3:
                day = rng.choice(BRANCH_DAYS)
                cursor.execute("SELECT state FROM eventstore.period_state_at('branch', %s)", (day,))
                state = cursor.fetchone()[0]
                if state == "closed" and rng.random() < 0.4:
                    cursor.execute("SELECT eventstore.reopen_period('branch', %s, 'audit')", (day,))
                    actions["reopens"] += 1
                elif state != "closed":
                    cursor.execute("SELECT eventstore.close_period('branch', %s, 'day end')", (day,))
                    actions["closes"] += 1
            elif choice < 0.5:
                clock_offset += rng.uniform(0.1, 0.6)
                cursor.execute("SELECT eventstore.run_period_clock(now() + %s * interval '1 day', 'shift')",
                               (clock_offset,))
                actions["clock"] += cursor.fetchone()[0]
            else:
                cursor.execute("SELECT id, arrived_in, category, period_start FROM eventstore.late_events "
                               "WHERE status <> 'resolved' ORDER BY random() LIMIT 1")
                row = cursor.fetchone()
                if row:
                    late_id, arrived_in, category, period_start = row
                    cursor.execute("SELECT state FROM eventstore.period_state_at(%s, %s)", (category, period_start))
                    state = cursor.fetchone()[0]
                    cursor.execute("SELECT state FROM eventstore.period_state_at(%s, now())", (category,))
                    now_state = cursor.fetchone()[0]
                    if arrived_in == "closed" and state == "open":
                        action = "reopen"
                    elif arrived_in == "closed" and now_state == "open" and rng.random() < 0.6:
                        action = "post_to_open_period"
                    else:
                        action = "reject"
                    cursor.execute("SELECT eventstore.resolve_late_event(%s, %s, 'e2e')", (late_id, action))
                    actions["resolved"] += 1
        except psycopg2.errors.InvalidParameterValue:
            pass  # a race with the clock or another close: the refusal is the contract
        except psycopg2.Error as error:
            if error.pgcode is not None and not connection.closed:
                raise  # the server answered: a real error
            connection = connect(DSN, time.time() + 120)
            connection.autocommit = True
        if not sabotaged and time.time() - started > 8:
            saboteur()
            sabotaged = True
        time.sleep(rng.uniform(0.01, 0.08))
    # Finally close every branch day, so every one has a close to check.
    for day in BRANCH_DAYS:
        cursor = connection.cursor()
        cursor.execute("SELECT state FROM eventstore.period_state_at('branch', %s)", (day,))
        if cursor.fetchone()[0] != "closed":
            cursor.execute("SELECT eventstore.close_period('branch', %s, 'final')", (day,))
            actions["closes"] += 1
    connection.close()
    return actions


def wait_until_counted(timeout=300):
    deadline = time.time() + timeout
    while time.time() < deadline:
        events, sequenced, counted = sql(
            "SELECT (SELECT count(*) FROM eventstore.events),"
            "       (SELECT coalesce(max(global_position), 0) FROM eventstore.log_positions),"
            "       (SELECT counted_through FROM eventstore.period_books_state)")[0]
        if events == sequenced == counted:
            return counted
        time.sleep(0.2)
    raise AssertionError("the books did not catch up: %s" % (sql("SELECT * FROM eventstore.worker_status"),))


# Per closed period: the books' count at the close against a recount from the
# log, and the events of the period after the close that are not late.
CLOSE_CHECK = """
WITH policy AS (SELECT * FROM eventstore.period_policies),
resolution AS (   -- where in the global order each late event was resolved
    SELECT l.event_id, l.action, l.arrived_in, lp.global_position AS at
    FROM eventstore.late_events l
    JOIN eventstore.events r ON r.event_id = l.resolution_event_id
    JOIN eventstore.log_positions lp ON lp.stream_id = r.stream_id AND lp.stream_version = r.stream_version
),
ev AS (
    SELECT lp.global_position AS pos, lp.category, e.event_id,
           eventstore.period_start_of(p.period, p.time_zone, e.event_time) AS period_start,
           (e.data->>'amount')::numeric AS amount,
           l.arrived_in AS late_in
    FROM eventstore.log_positions lp
    JOIN eventstore.events e USING (stream_id, stream_version)
    JOIN policy p ON p.category = lp.category
    LEFT JOIN eventstore.late_events l ON l.event_id = e.event_id
    WHERE NOT EXISTS (SELECT FROM eventstore.late_events c WHERE c.resolution_event_id = e.event_id)
),
counted AS (    -- what each closed period counted at its close, recounted from the log
    SELECT s.category, s.period_start, count(ev.pos) AS events, coalesce(sum(ev.amount), 0) AS amount
    FROM eventstore.period_states s
    LEFT JOIN ev ON ev.category = s.category AND ev.period_start = s.period_start AND ev.pos < s.close_position
        AND NOT EXISTS (SELECT FROM resolution r WHERE r.event_id = ev.event_id AND r.action = 'reject'
                        AND r.at < s.close_position)
        AND (ev.late_in IS DISTINCT FROM 'closed'
             OR EXISTS (SELECT FROM resolution r WHERE r.event_id = ev.event_id AND r.action = 'reopen'
                        AND r.at < s.close_position))
    WHERE s.state = 'closed'
    GROUP BY 1, 2
)
SELECT s.category, s.period_start, s.close_position, s.closed_events, s.closed_amount, c.events, c.amount,
       (SELECT count(*) FROM ev WHERE ev.category = s.category AND ev.period_start = s.period_start
          AND ev.pos > s.close_position AND ev.late_in IS DISTINCT FROM 'closed') AS after_close_not_late
FROM eventstore.period_states s JOIN counted c USING (category, period_start)
WHERE s.state = 'closed'
ORDER BY 1, 2
"""

# The books against a recount: real time (every event by event time, less
# rejected late ones, corrections apart) and counted (less late-for-closed
# ones unless accepted, plus corrections in their own period).
BOOKS_RECOUNT = """
WITH policy AS (SELECT * FROM eventstore.period_policies),
ev AS (
    SELECT e.stream_id, split_part(e.stream_id, '-', 1) AS category, e.event_id, e.data,
           eventstore.period_start_of(p.period, p.time_zone, e.event_time) AS period_start
    FROM eventstore.events e JOIN policy p ON p.category = split_part(e.stream_id, '-', 1)
),
contrib AS (
    SELECT ev.category, ev.period_start,
           CASE WHEN c.id IS NOT NULL OR r.action = 'reject' THEN 0 ELSE 1 END AS events,
           CASE WHEN c.id IS NOT NULL OR r.action = 'reject' THEN 0 ELSE (ev.data->>'amount')::numeric END AS amount,
           CASE WHEN c.id IS NOT NULL THEN 1
                WHEN r.action = 'reject' THEN 0
                WHEN r.arrived_in = 'closed' AND r.action IS DISTINCT FROM 'reopen' THEN 0 ELSE 1 END AS counted,
           CASE WHEN c.id IS NOT NULL THEN (ev.data->'original_data'->>'amount')::numeric
                WHEN r.action = 'reject' THEN 0
                WHEN r.arrived_in = 'closed' AND r.action IS DISTINCT FROM 'reopen' THEN 0
                ELSE (ev.data->>'amount')::numeric END AS counted_amount
    FROM ev
    LEFT JOIN eventstore.late_events r ON r.event_id = ev.event_id
    LEFT JOIN eventstore.late_events c ON c.resolution_event_id = ev.event_id
)
SELECT category, period_start, sum(events), sum(amount), sum(counted), sum(counted_amount)
FROM contrib GROUP BY 1, 2
EXCEPT
SELECT category, period_start, events, amount, counted_events, counted_amount FROM eventstore.period_books
WHERE events <> 0 OR counted_events <> 0
"""


def check(ledger):
    problems = []
    counted = wait_until_counted()
    stored = dict(sql("SELECT event_id::text, stream_id FROM eventstore.events "
                      "WHERE stream_id LIKE 'branch-%' OR stream_id LIKE 'shift-%' AND event_type = 'Sold'"))
    corrections = {r[0] for r in sql("SELECT resolution_event_id::text FROM eventstore.late_events "
                                     "WHERE action = 'post_to_open_period'")}
    stored = {k: v for k, v in stored.items() if k not in corrections}
    if stored != ledger.committed:
        lost = set(ledger.committed) - set(stored)
        extra = set(stored) - set(ledger.committed)
        problems.append("stored events differ from committed: %d lost, %d extra" % (len(lost), len(extra)))
    late = sql("SELECT arrived_in, status, action, count(*) FROM eventstore.late_events GROUP BY 1, 2, 3 ORDER BY 1, 2, 3")
    closes = sql(CLOSE_CHECK)
    for category, start, position, events, amount, recount, reamount, not_late in closes:
        if position is None:
            problems.append("%s %s closed but the books never reached its close" % (category, start))
        elif events != recount or amount != reamount or not_late:
            problems.append("%s %s at close %s: books %s/%s, log %s/%s, %d events after the close not late"
                            % (category, start, position, events, amount, recount, reamount, not_late))
    differing = sql(BOOKS_RECOUNT)
    if differing:
        problems.append("books differ from the recount: %s" % differing[:3])
    bad = sql("SELECT * FROM eventstore.verify_all() WHERE NOT ok")
    if bad:
        problems.append("verify_all: %s" % bad[:3])
    records = sql("SELECT event_type, count(*) FROM eventstore.events WHERE stream_id LIKE '$period-%' GROUP BY 1 ORDER BY 1")
    print("committed %d events (rolled back %d transactions, %d retries), counted through %d; "
          "%d closed periods checked; late events %s; audit records %s"
          % (len(ledger.committed), ledger.rolled_back, ledger.retries, counted, len(closes), late, records),
          flush=True)
    return problems


def run(seed, saboteur=None, seconds=25):
    for statement in SETUP.strip().split(";\n"):
        if statement.strip():
            sql(statement)
    ledger = Ledger()
    stop = threading.Event()
    clients = [threading.Thread(target=client, args=(n, ledger, stop, seed)) for n in range(6)]
    for thread in clients:
        thread.start()
    result = {}
    admin_thread = threading.Thread(target=lambda: result.update(admin(stop, seed, saboteur)))
    admin_thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in clients + [admin_thread]:
        thread.join()
    print("admin: %s" % result, flush=True)
    problems = check(ledger)
    for problem in problems:
        print("PROBLEM:", problem)
    if not problems:
        print("ok: every event counted at its period's close or late, never both; books equal the log")
    return 1 if problems else 0


def kill_projector():
    pid = worker_pid(job="projector")
    os.kill(pid, signal.SIGKILL)
    print("killed the projector (books, clock) %d" % pid, flush=True)


if __name__ == "__main__":
    scenario = sys.argv[1]
    if scenario == "race":
        sys.exit(run(11))
    if scenario == "kill-projector":
        sys.exit(run(12, kill_projector))
    if scenario == "immediate-stop":
        sys.exit(run(13, restart_immediately))
    raise SystemExit("unknown scenario " + scenario)
