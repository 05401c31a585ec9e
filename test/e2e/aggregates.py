"""aggregates.py — load_state against an independent fold, with snapshots.

On a real server with the worker: streams of random deposits, some dated
back before earlier versions, appended in rounds with a recorded instant
between rounds.  An order-sensitive fold (it chains a digest over the
versions it sees) is registered with small snapshot intervals, so the
worker's snapshots sit everywhere.  Then, for many random (stream, as_of,
as_known_at) questions, load_state must equal a fold computed here in
Python over read_stream's events with the same filters (event_time <= as_of;
known = sequenced at or before as_known_at).  Then the fold is changed
(snapshots of the old one must be ignored at once, and replaced by the
worker), and the projector (which takes the snapshots) is SIGKILLed while
snapshots are being written: afterwards every stored snapshot must equal
the Python fold at its version, with nothing half written.

    python3 aggregates.py   (env from scripts/with_cluster.sh)
"""
import hashlib
import json
import os
import random
import signal
import sys
import time

from cluster_control import DSN, query, worker_pid

FOLD = """
CREATE OR REPLACE FUNCTION agg_code.fold(state jsonb, e eventstore.event_record) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object(
        'n', (state->>'n')::int + 1,
        'sum', (state->>'sum')::bigint + (e.data->>'amount')::bigint * %(weight)s,
        'last', e.stream_version,
        'digest', left(md5((state->>'digest') || e.stream_version::text), 8))
$$;
"""
INITIAL = {"n": 0, "sum": 0, "last": 0, "digest": ""}


def sql(statement, params=None):
    return query(DSN, statement, params)


def python_fold(events, weight):
    state = dict(INITIAL)
    for version, amount in events:
        state = {"n": state["n"] + 1, "sum": state["sum"] + amount * weight, "last": version,
                 "digest": hashlib.md5((state["digest"] + str(version)).encode()).hexdigest()[:8]}
    return state


def stream_events():
    """Every event: stream -> [(version, amount, event_time, sequenced_at)] in version order."""
    rows = sql("SELECT e.stream_id, e.stream_version, (e.data->>'amount')::bigint, e.event_time, p.sequenced_at "
               "FROM eventstore.events e LEFT JOIN eventstore.log_positions p USING (stream_id, stream_version) "
               "WHERE e.stream_id LIKE 'acct-%' ORDER BY 1, 2")
    streams = {}
    for stream, version, amount, event_time, sequenced_at in rows:
        streams.setdefault(stream, []).append((version, amount, event_time, sequenced_at))
    return streams


def expected(events, as_of, known_at, weight):
    chosen = [(v, a) for v, a, event_time, sequenced_at in events
              if (as_of is None or event_time <= as_of)
              and (known_at is None or (sequenced_at is not None and sequenced_at <= known_at))]
    state = python_fold(chosen, weight)
    return state, (chosen[-1][0] if chosen else 0)


def ask(rng, streams, instants, times, weight, count):
    problems = []
    for _ in range(count):
        stream = rng.choice(sorted(streams))
        as_of = rng.choice([None, rng.choice(times)])
        known_at = rng.choice([None, rng.choice(instants)])
        state, version = sql("SELECT state, version FROM eventstore.load_state(%s, %s, %s)",
                             (stream, as_of, known_at))[0]
        want_state, want_version = expected(streams[stream], as_of, known_at, weight)
        if state != want_state or version != want_version:
            problems.append("%s as_of %s known_at %s: got %s v%s, expected %s v%s"
                            % (stream, as_of, known_at, state, version, want_state, want_version))
    return problems


def wait_for_snapshots(minimum, timeout=120):
    deadline = time.time() + timeout
    count = 0
    while time.time() < deadline:
        count = sql("SELECT count(*) FROM eventstore.snapshots s JOIN eventstore.aggregates a "
                    "ON a.category = split_part(s.stream_id, '-', 1) "
                    "WHERE s.fold_identity = eventstore.fold_identity(a.fold, a.initial_state)")[0][0]
        if count >= minimum:
            return count
        time.sleep(0.2)
    return count


def check_stored_snapshots(streams, weight):
    """Every snapshot of the current fold equals the Python fold of its prefix."""
    problems = []
    for stream, version, state in sql(
            "SELECT s.stream_id, s.version, s.state FROM eventstore.snapshots s JOIN eventstore.aggregates a "
            "ON a.category = split_part(s.stream_id, '-', 1) "
            "WHERE s.fold_identity = eventstore.fold_identity(a.fold, a.initial_state)"):
        want = python_fold([(v, a) for v, a, _, _ in streams[stream] if v <= version], weight)
        if state != want:
            problems.append("snapshot %s v%d is %s, expected %s" % (stream, version, state, want))
    return problems


def main():
    rng = random.Random(int(os.environ.get("SEED", "42")))
    sql("CREATE SCHEMA agg_code")
    sql(FOLD % {"weight": 1})
    sql("SELECT eventstore.create_aggregate('acct', 'agg_code.fold(jsonb, eventstore.event_record)', %s, 4)",
        (json.dumps(INITIAL),))
    base = sql("SELECT '2026-01-01 00:00+00'::timestamptz")[0][0]
    instants = []
    for round_number in range(6):
        for n in range(400):
            stream = "acct-%d" % rng.randrange(25)
            day = rng.randrange(60) if rng.random() < 0.3 else 30 + round_number * 5 + rng.randrange(5)
            sql("SELECT eventstore.append(%s, 'Deposited', %s::jsonb, event_time => %s::timestamptz + %s * interval '1 day')",
                (stream, json.dumps({"amount": rng.randrange(1, 1000)}), base, day))
        last = sql("SELECT max(stream_version) FROM eventstore.events")[0][0]
        sql("SELECT eventstore.wait_for_position((SELECT count(*) FROM eventstore.events), '30 seconds')")
        instants.append(sql("SELECT clock_timestamp()")[0][0])
        time.sleep(0.02)
    snapshots = wait_for_snapshots(400)
    streams = stream_events()
    times = [base + (row[0] - base) for row in sql("SELECT event_time FROM eventstore.events")]
    print("%d streams, %d events, %d snapshots of the current fold" % (
        len(streams), sum(len(e) for e in streams.values()), snapshots), flush=True)

    problems = ask(rng, streams, instants, times, 1, 400)
    problems += check_stored_snapshots(streams, 1)
    print("with snapshots: %d questions checked, %d wrong" % (400, len(problems)), flush=True)

    # A changed fold: old snapshots ignored at once, new ones made by the worker.
    sql(FOLD % {"weight": 3})
    wrong_now = ask(rng, streams, instants, times, 3, 200)
    print("fold changed: %d of 200 questions wrong right after the change" % len(wrong_now), flush=True)
    problems += wrong_now

    # The projector (which takes snapshots) killed while it writes them.
    def kill_while_snapshotting():
        deadline = time.time() + 30
        while time.time() < deadline:
            if sql("SELECT count(*) FROM eventstore.snapshots s WHERE s.fold_identity = "
                   "(SELECT eventstore.fold_identity(fold, initial_state) FROM eventstore.aggregates)")[0][0] > 0:
                break
            time.sleep(0.005)
        pid = worker_pid(job="projector")
        os.kill(pid, signal.SIGKILL)
        print("killed the projector %d while it took snapshots" % pid, flush=True)
    kill_while_snapshotting()
    time.sleep(3)
    worker_pid(job="projector", timeout=60)
    snapshots = wait_for_snapshots(400)
    bad = check_stored_snapshots(streams, 3)
    print("after the kill: %d snapshots of the new fold, %d wrong" % (snapshots, len(bad)), flush=True)
    problems += bad
    problems += ask(rng, streams, instants, times, 3, 200)

    for problem in problems[:10]:
        print("PROBLEM:", problem)
    if not problems:
        print("ok: load_state equals an independent fold for every question, with and without snapshots")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
