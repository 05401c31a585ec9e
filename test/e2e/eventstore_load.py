"""eventstore_load.py — a multi-client append load with exact bookkeeping,
and the checks that the sequenced log holds exactly what was committed.

Used by the randomized sequencer test and the crash tests.  Each client
appends single events or batches with event ids it generates, so every event
is tracked: committed, rolled back (on purpose, or by an ES001 conflict), or
in doubt when the connection died during COMMIT.  An in-doubt batch is
retried with the same event ids and the same expected version until it gets
an answer: the store's idempotency makes the retry a no-op if the first
attempt had committed, so at the end every event is known to be committed or
not.

Run with Debian's /usr/bin/python3 (it has psycopg2).
"""
import random
import threading
import time
import uuid

import psycopg2
import psycopg2.extras

psycopg2.extras.register_uuid()


class Ledger:
    """Thread-safe record of what each client did."""

    def __init__(self):
        self.lock = threading.Lock()
        self.committed = {}      # event id -> (stream_id, version)
        self.rolled_back = set()
        self.conflicts = 0
        self.retries = 0

    def commit(self, stream_id, first_version, ids):
        with self.lock:
            for offset, event_id in enumerate(ids):
                self.committed[event_id] = (stream_id, first_version + offset)

    def roll_back(self, ids, conflict=False):
        with self.lock:
            self.rolled_back.update(ids)
            if conflict:
                self.conflicts += 1

    def count(self):
        with self.lock:
            return len(self.committed)


def connect(dsn, deadline):
    """Connects, retrying while the server restarts (crash tests)."""
    while True:
        try:
            connection = psycopg2.connect(dsn)
            connection.autocommit = False
            return connection
        except psycopg2.OperationalError:
            if time.time() > deadline:
                raise
            time.sleep(0.2)


def append(cursor, stream_id, ids, payloads, expected_version):
    """One append call; returns the stream's version after it."""
    if len(ids) == 1:
        cursor.execute(
            "SELECT eventstore.append(%s, 'Happened', %s::jsonb, NULL, %s, %s)",
            (stream_id, payloads[0], expected_version, ids[0]))
    else:
        rows = [psycopg2.extensions.AsIs(
            cursor.mogrify("ROW(%s, 'Happened', %s::jsonb, NULL, NULL, NULL)", (i, p)).decode())
            for i, p in zip(ids, payloads)]
        cursor.execute(
            "SELECT eventstore.append_batch(%s, ARRAY[" + ",".join(str(r) for r in rows)
            + "]::eventstore.new_event[], %s)",
            (stream_id, expected_version))
    return cursor.fetchone()[0]


def client_loop(dsn, client_number, ledger, stop, options, rng):
    """Appends until stop is set.  Some clients hold transactions open."""
    deadline_for_connect = time.time() + options["reconnect_seconds"]
    connection = connect(dsn, deadline_for_connect)
    holder = client_number < options["holding_clients"]
    while not stop.is_set():
        if rng.random() < 0.5:
            stream_id = "hot-%d" % rng.randrange(options["hot_streams"])
        else:
            stream_id = "client%d-%d" % (client_number, rng.randrange(1000))
        size = 1 if rng.random() < 0.3 else rng.randint(2, options["max_batch"])
        ids = [uuid.uuid4() for _ in range(size)]
        payloads = ['{"client": %d, "n": %d}' % (client_number, k) for k in range(size)]
        roll_back = rng.random() < options["rollback_rate"]
        expected = None
        attempt_done = False
        while not attempt_done and not stop.is_set():
            try:
                cursor = connection.cursor()
                if rng.random() < 0.2 and expected is None:
                    cursor.execute("SELECT eventstore.stream_version(%s)", (stream_id,))
                    expected = cursor.fetchone()[0]
                try:
                    version = append(cursor, stream_id, ids, payloads, expected)
                except psycopg2.Error as error:
                    if error.pgcode == "ES001":
                        connection.rollback()
                        ledger.roll_back(ids, conflict=True)
                        attempt_done = True
                        continue
                    raise
                if holder and rng.random() < 0.02:
                    time.sleep(rng.uniform(1.0, options["hold_seconds"]))
                if roll_back:
                    connection.rollback()
                    ledger.roll_back(ids)
                    attempt_done = True
                    continue
                try:
                    connection.commit()
                except psycopg2.OperationalError:
                    # In doubt: retried below with the same ids.
                    raise
                ledger.commit(stream_id, version - size + 1, ids)
                attempt_done = True
            except (psycopg2.OperationalError, psycopg2.InterfaceError):
                # The server went away (crash tests).  Reconnect and retry the
                # same call: idempotency answers with the stored version if
                # the lost attempt had committed.
                with ledger.lock:
                    ledger.retries += 1
                try:
                    connection.close()
                except Exception:
                    pass
                connection = connect(dsn, time.time() + options["reconnect_seconds"])
                if roll_back:
                    # It was never going to commit; whether it reached the
                    # server does not matter.
                    ledger.roll_back(ids)
                    attempt_done = True
        if ledger.count() >= options["target_events"]:
            stop.set()
    connection.close()


DEFAULTS = {
    "clients": 8,
    "holding_clients": 2,
    "hold_seconds": 3.0,
    "hot_streams": 20,
    "max_batch": 20,
    "rollback_rate": 0.1,
    "target_events": 200000,
    "max_seconds": 600,
    "reconnect_seconds": 60,
}


def run_load(dsn, seed=1, during=None, **overrides):
    """Runs the clients until target_events are committed (or max_seconds).

    during: optional callable(ledger) run in its own thread while the load
    runs (the crash tests kill things from there).
    """
    options = dict(DEFAULTS, **overrides)
    ledger = Ledger()
    stop = threading.Event()
    master = random.Random(seed)
    threads = [threading.Thread(target=client_loop,
                                args=(dsn, n, ledger, stop, options, random.Random(master.random())))
               for n in range(options["clients"])]
    for thread in threads:
        thread.start()
    if during is not None:
        saboteur = threading.Thread(target=during, args=(ledger,))
        saboteur.start()
    started = time.time()
    while not stop.is_set() and time.time() - started < options["max_seconds"]:
        time.sleep(0.2)
    stop.set()
    for thread in threads:
        thread.join()
    if during is not None:
        saboteur.join()
    return ledger


def wait_until_sequenced(dsn, count, timeout=120):
    connection = connect(dsn, time.time() + 60)
    connection.autocommit = True
    cursor = connection.cursor()
    deadline = time.time() + timeout
    while time.time() < deadline:
        cursor.execute("SELECT eventstore.wait_for_position(%s, '5 seconds')", (count,))
        if cursor.fetchone()[0]:
            break
    connection.close()


def check_sequenced_log(dsn, ledger):
    """Reads the whole log with read_all and checks it against the ledger.

    Returns a list of problems (empty when the log is exactly right).
    """
    problems = []
    connection = connect(dsn, time.time() + 60)
    connection.autocommit = True
    cursor = connection.cursor()
    seen = {}
    last_version = {}
    expected_position = 0
    after = 0
    while True:
        cursor.execute("SELECT global_position, stream_id, stream_version, event_id "
                       "FROM eventstore.read_all(%s, 10000)", (after,))
        rows = cursor.fetchall()
        if not rows:
            break
        for position, stream_id, version, event_id in rows:
            expected_position += 1
            if position != expected_position and len(problems) < 20:
                problems.append("position %d found where %d was expected (hole or reorder)"
                                % (position, expected_position))
                expected_position = position
            if event_id in seen and len(problems) < 20:
                problems.append("event %s appears twice (positions %d and %d)"
                                % (event_id, seen[event_id], position))
            seen[event_id] = position
            if version <= last_version.get(stream_id, 0) and len(problems) < 20:
                problems.append("stream %s: version %d at position %d after version %d"
                                % (stream_id, version, position, last_version[stream_id]))
            last_version[stream_id] = version
            if event_id in ledger.rolled_back and len(problems) < 20:
                problems.append("rolled-back event %s appears at position %d" % (event_id, position))
            stored = ledger.committed.get(event_id)
            if stored is not None and stored != (stream_id, version) and len(problems) < 20:
                problems.append("event %s is %s v%d, the client was told v%d"
                                % (event_id, stream_id, version, stored[1]))
        after = rows[-1][0]
    missing = [event_id for event_id in ledger.committed if event_id not in seen]
    if missing:
        problems.append("%d committed events are missing from read_all, e.g. %s"
                        % (len(missing), missing[:3]))
    unknown = [event_id for event_id in seen
               if event_id not in ledger.committed and event_id not in ledger.rolled_back]
    if unknown:
        problems.append("%d events in the log were never committed by a client, e.g. %s"
                        % (len(unknown), unknown[:3]))
    cursor.execute("SELECT count(*) FROM eventstore.events")
    stored_events = cursor.fetchone()[0]
    if stored_events != len(seen):
        problems.append("%d events stored but %d sequenced" % (stored_events, len(seen)))
    cursor.execute("SELECT ok, detail FROM eventstore.verify_all()")
    for ok, detail in cursor.fetchall():
        if not ok:
            problems.append("verify_all: " + detail)
    connection.close()
    return problems, len(seen)
