"""projections — how fast the projector applies the log, against doing the
same work by hand, and what projections cost the writers.

Drain rates (200,000 sequenced events, 1,000 account streams):
  * set-based SQL projection of account balances (INSERT ... SELECT ...
    GROUP BY ... ON CONFLICT over the batch relation) against running the
    same statement by hand over the same events, 5,000 positions per
    transaction (the projector's batch), the batch given as a CTE.
    Targets: >= 100,000 events/s, and >= 0.8x by hand.
  * per-event PL/pgSQL handler (one upsert per event) against calling the
    same function by hand over the same events, one transaction per batch.
    Target: >= 0.8x by hand.
  The projector's time runs from create_projection to wait_for_projection
  returning for the last position; it includes the projector's own reads of
  the log, which the by-hand side does too.

Latency (target: p99 <= 50 ms): pgbench --rate holds 5,000 events/s
(append_batch of 10, 4 clients) with the set-based projection running; a
sampler reads the projection's committed position every 5 ms; an event's
latency is the first sample that covers it minus its transaction's commit
timestamp (track_commit_timestamp), both from the server's clock.

Writers (append_batch(100) x 4 clients for BENCH_SECONDS):
  * three projections running (set-based, batch handler, per-event handler)
    against the same three read models kept by an AFTER INSERT row trigger
    on the event log, what a team would otherwise write.  Target: >= 1.5x.
"""
import time

from benchlib import PositionSampler, percentiles

TITLE = "projections: drain rate vs the same work by hand; append rate vs a trigger"
ORDER = 65
STREAMS = 1000
EVENTS_PER_STREAM = 200
BATCH = 5000  # positions per projector transaction (src/worker/projector.cpp kScanWindow)
CLUSTER_CONF = ["track_commit_timestamp=on"]
PACED_RATE, PACED_BATCH, PACED_CLIENTS = 5000, 10, 4
TARGET_P99_MS = 50.0

SETUP = """
CREATE SCHEMA IF NOT EXISTS projection_code;
CREATE OR REPLACE FUNCTION projection_code.add_event(e eventstore.event_record) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO accounts AS a VALUES (e.stream_id, (e.data->>'amount')::numeric, 1)
    ON CONFLICT (account) DO UPDATE SET balance = a.balance + excluded.balance, events = a.events + 1;
END $$;
CREATE OR REPLACE FUNCTION projection_code.add_batch(es eventstore.event_record[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO accounts AS a
    SELECT e.stream_id, sum((e.data->>'amount')::numeric), count(*) FROM unnest(es) e GROUP BY 1
    ON CONFLICT (account) DO UPDATE SET balance = a.balance + excluded.balance, events = a.events + excluded.events;
END $$;
"""

SET_BASED = """INSERT INTO accounts AS a
SELECT stream_id, sum((data->>'amount')::numeric), count(*) FROM batch GROUP BY 1
ON CONFLICT (account) DO UPDATE SET balance = a.balance + excluded.balance, events = a.events + excluded.events"""

BATCH_CTE = """WITH batch AS (SELECT (s.event).* FROM eventstore.sequenced_events s
                     WHERE s.global_position > {lo} AND s.global_position <= {hi}
                     ORDER BY s.global_position) """

TRIGGER = """
CREATE SCHEMA IF NOT EXISTS trigger_models;
CREATE TABLE IF NOT EXISTS trigger_models.a (account text PRIMARY KEY, balance numeric NOT NULL, events bigint NOT NULL);
CREATE TABLE IF NOT EXISTS trigger_models.b (account text PRIMARY KEY, balance numeric NOT NULL, events bigint NOT NULL);
CREATE TABLE IF NOT EXISTS trigger_models.c (account text PRIMARY KEY, balance numeric NOT NULL, events bigint NOT NULL);
CREATE OR REPLACE FUNCTION trigger_models.keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO trigger_models.a AS t VALUES (NEW.stream_id, (NEW.data->>'amount')::numeric, 1)
    ON CONFLICT (account) DO UPDATE SET balance = t.balance + excluded.balance, events = t.events + 1;
    INSERT INTO trigger_models.b AS t VALUES (NEW.stream_id, (NEW.data->>'amount')::numeric, 1)
    ON CONFLICT (account) DO UPDATE SET balance = t.balance + excluded.balance, events = t.events + 1;
    INSERT INTO trigger_models.c AS t VALUES (NEW.stream_id, (NEW.data->>'amount')::numeric, 1)
    ON CONFLICT (account) DO UPDATE SET balance = t.balance + excluded.balance, events = t.events + 1;
    RETURN NULL;
END $$;
"""


def model_schema(bench, name):
    bench.sql(f"DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}; "
              f"CREATE TABLE {name}.accounts (account text PRIMARY KEY, balance numeric NOT NULL, events bigint NOT NULL)")


def load(bench):
    for first in range(1, STREAMS + 1, 100):
        bench.sql("""SELECT count(eventstore.append_batch('account-' || s,
                        ARRAY(SELECT ROW(NULL, 'Deposited', jsonb_build_object('amount', i), NULL, NULL, NULL)::eventstore.new_event
                              FROM generate_series(1, %s) i)))
                     FROM generate_series(%s, %s) s""", (EVENTS_PER_STREAM, first, first + 99))
    bench.wait_for_sequencer()
    return bench.value("SELECT max(global_position) FROM eventstore.log_positions")


def projector_drain(bench, name, last, **registration):
    model_schema(bench, name)
    bench.sql("CHECKPOINT")
    started = time.perf_counter()
    args = ", ".join(f"{key} => %({key})s" for key in registration)
    bench.sql(f"SELECT eventstore.create_projection('{name}', {args})", registration)
    while not bench.value("SELECT eventstore.wait_for_projection(%s, %s, '10 seconds')", (name, last)):
        pass
    seconds = time.perf_counter() - started
    bench.sql("SELECT eventstore.drop_projection(%s)", (name,))
    return last / seconds


def by_hand(bench, name, last, statement_for_range):
    """The same work in one transaction per BATCH positions, on one connection."""
    model_schema(bench, name)
    bench.sql("CHECKPOINT")
    bench.sql(f"SET search_path = {name}, projection_code, public")
    started = time.perf_counter()
    for lo in range(0, last, BATCH):
        bench.sql(statement_for_range(lo, min(lo + BATCH, last)))
    seconds = time.perf_counter() - started
    bench.sql("RESET search_path")
    return last / seconds


def commit_to_projected(bench):
    """p99 from commit to applied by a set-based projection at a steady 5,000 events/s (fresh cluster)."""
    model_schema(bench, "paced")
    bench.sql("SELECT eventstore.create_projection('paced', sql => %s)", (SET_BASED,))
    bench.pgbench("append_batch.sql", PACED_CLIENTS, seconds=3, tag="projections_warmup",
                  rate=PACED_RATE // PACED_BATCH, defines={"batch": PACED_BATCH})
    # A new projection starts from position 0: let it catch up with the log first.
    caught_up = bench.value("SELECT max(global_position) FROM eventstore.log_positions")
    while not bench.value("SELECT eventstore.wait_for_projection('paced', %s, '10 seconds')", (caught_up,)):
        pass
    bench.quiesce()
    sampler = PositionSampler("SELECT \"position\" FROM eventstore.projections WHERE name = 'paced'")
    sampler.start()
    tag = "projections_paced"
    paced = bench.pgbench("append_batch.sql", PACED_CLIENTS, tag=tag, rate=PACED_RATE // PACED_BATCH,
                          defines={"batch": PACED_BATCH})
    last = bench.value("SELECT max(global_position) FROM eventstore.log_positions")
    bench.value("SELECT eventstore.wait_for_projection('paced', %s, '60 seconds')", (last,))
    time.sleep(0.5)
    sampler.halt.set()
    sampler.join()
    rows = bench.sql("SELECT p.global_position, extract(epoch FROM pg_xact_commit_timestamp(e.xid::xid)) "
                     "FROM eventstore.events e JOIN eventstore.log_positions p USING (stream_id, stream_version) "
                     "WHERE starts_with(e.stream_id, %s)", (tag + "-",))
    applied = sampler.reached_at([position for position, _ in rows])
    latency = percentiles([(applied[position] - float(committed)) * 1000
                           for position, committed in rows if position in applied])
    bench.sql("SELECT eventstore.drop_projection('paced')")
    bench.record({
        "case": f"commit -> projected (set-based), steady {PACED_RATE:,} events/s",
        "unit": "ms p99", "ours": latency.get("p99"), "baseline": None, "ratio": None,
        "ours_latency_ms": latency,
        "target": f"p99 <= {TARGET_P99_MS:g} ms", "met": latency.get("p99", float("inf")) <= TARGET_P99_MS,
        "note": f"{paced.tps * PACED_BATCH:,.0f} events/s appended, {len(rows):,} events timed",
    })


def run(bench):
    bench.sql(SETUP)
    last = load(bench)

    hand = by_hand(bench, "hand_set", last, lambda lo, hi: BATCH_CTE.format(lo=lo, hi=hi) + SET_BASED)
    ours = projector_drain(bench, "proj_set", last, sql=SET_BASED)
    bench.record({
        "case": f"set-based SQL projection drain, {last:,} events",
        "unit": "events/s", "clients": 1, "ours": ours, "baseline": hand, "ratio": ours / hand,
        "ours_label": "projector", "baseline_label": "same statement by hand, 5,000 positions per commit",
        "target": "ratio >= 0.8 and >= 100,000 events/s", "met": ours / hand >= 0.8 and ours >= 100000,
        "note": f"balances of {STREAMS:,} accounts",
    })

    ours = projector_drain(bench, "proj_event", last, handler="projection_code.add_event(eventstore.event_record)")
    hand = by_hand(bench, "hand_event", last, lambda lo, hi: (
        "SELECT count(*) FROM (SELECT projection_code.add_event(s.event) FROM eventstore.sequenced_events s "
        f"WHERE s.global_position > {lo} AND s.global_position <= {hi} ORDER BY s.global_position) applied"))
    bench.record({
        "case": f"per-event PL/pgSQL projection drain, {last:,} events",
        "unit": "events/s", "clients": 1, "ours": ours, "baseline": hand, "ratio": ours / hand,
        "ours_label": "projector", "baseline_label": "same function by hand, one transaction per batch",
        "target": "ratio >= 0.8", "met": ours / hand >= 0.8,
        "note": "one upsert per event",
    })

    # Writers: three projections running, against a trigger keeping the same three read models.
    for name in ("w_set", "w_batch", "w_event"):
        model_schema(bench, name)
    bench.sql("SELECT eventstore.create_projection('w_set', sql => %s)", (SET_BASED,))
    bench.sql("SELECT eventstore.create_projection('w_batch', 'projection_code.add_batch(eventstore.event_record[])')")
    bench.sql("SELECT eventstore.create_projection('w_event', 'projection_code.add_event(eventstore.event_record)')")
    bench.quiesce()
    with_projections = bench.pgbench("append_batch.sql", 4, tag="projections_on", defines={"batch": 100})
    for name in ("w_set", "w_batch", "w_event"):
        bench.sql("SELECT eventstore.drop_projection(%s)", (name,))
    bench.sql(TRIGGER)
    bench.sql("CREATE TRIGGER keep_models AFTER INSERT ON eventstore.events "
              "FOR EACH ROW EXECUTE FUNCTION trigger_models.keep()")
    bench.quiesce()
    with_trigger = bench.pgbench("append_batch.sql", 4, tag="trigger_on", defines={"batch": 100})
    bench.sql("DROP TRIGGER keep_models ON eventstore.events")
    ours, baseline = with_projections.tps * 100, with_trigger.tps * 100
    bench.record({
        "case": "append_batch(100) x 4 with three projections vs an AFTER INSERT trigger",
        "unit": "events/s", "clients": 4, "ours": ours, "baseline": baseline, "ratio": ours / baseline,
        "ours_label": "three projections (set-based, batch, per-event)",
        "baseline_label": "row trigger keeping the same three read models",
        "target": "ratio >= 1.5", "met": ours / baseline >= 1.5,
        "note": "the event payload has an amount; the read models are per-account balances",
    })
    # Last: its 4 hot streams would change what the drains above measure.
    commit_to_projected(bench)
