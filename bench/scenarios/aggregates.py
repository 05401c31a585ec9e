"""aggregates — load_state of a 10,000-event stream with and without the
worker's snapshots, and questions about the past against the present.

Two categories with the same fold and the same 10,000-event stream: one
aggregate snapshots every 100 events, the other never (snapshot_every
larger than the stream), so it folds all 10,000 events on every call.
Each call is timed from the client (a prepared statement over a local
socket), 200 calls per case after a warm-up.

Targets: with snapshots p95 <= 5 ms and >= 50x faster than without
(median against median); as_of / as_known_at in the middle of the stream's
life p95 <= 2x the current-state call on the same stream.
"""
import statistics
import time

from benchlib import percentiles

TITLE = "load_state of a 10,000-event stream: snapshots vs none, past vs present"
ORDER = 68
EVENTS = 10000
CALLS = 200

SETUP = """
CREATE SCHEMA IF NOT EXISTS bench_fold;
CREATE OR REPLACE FUNCTION bench_fold.balance(state jsonb, e eventstore.event_record) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object('balance', (state->>'balance')::numeric + (e.data->>'amount')::numeric,
                              'events', (state->>'events')::int + 1)
$$;
"""


def timed_calls(bench, statement, args):
    bench.sql(statement, args)  # warm-up: plans and caches
    times = []
    for _ in range(CALLS):
        started = time.perf_counter()
        bench.sql(statement, args)
        times.append((time.perf_counter() - started) * 1000.0)
    return times


def run(bench):
    bench.sql(SETUP)
    for category, every in (("snapped", 100), ("unsnapped", EVENTS * 10)):
        bench.sql("SELECT eventstore.create_aggregate(%s, 'bench_fold.balance(jsonb, eventstore.event_record)', "
                  "'{\"balance\": 0, \"events\": 0}', %s)", (category, every))
        for first in range(0, EVENTS, 1000):
            bench.sql("""SELECT eventstore.append_batch(%s, ARRAY(
                             SELECT ROW(NULL, 'Deposited', jsonb_build_object('amount', i), NULL,
                                        '2026-01-01'::timestamptz + i * interval '1 minute', NULL)::eventstore.new_event
                             FROM generate_series(%s, %s) i))""", (category + "-1", first + 1, first + 1000))
    bench.wait_for_sequencer()
    deadline = time.time() + 120
    while bench.value("SELECT count(*) FROM eventstore.snapshots WHERE stream_id = 'snapped-1'") < EVENTS // 100:
        if time.time() > deadline:
            raise RuntimeError("the worker did not take the snapshots in time")
        time.sleep(0.2)
    middle_time = bench.value("SELECT event_time FROM eventstore.events WHERE stream_id = 'snapped-1' "
                              "AND stream_version = %s", (EVENTS // 2,))
    middle_known = bench.value("SELECT p.sequenced_at FROM eventstore.log_positions p "
                               "WHERE p.stream_id = 'snapped-1' AND p.stream_version = %s", (EVENTS // 2,))

    call = "SELECT * FROM eventstore.load_state(%s, %s, %s)"
    with_snapshots = timed_calls(bench, call, ("snapped-1", None, None))
    without = timed_calls(bench, call, ("unsnapped-1", None, None))
    past_as_of = timed_calls(bench, call, ("snapped-1", middle_time, None))
    past_known = timed_calls(bench, call, ("snapped-1", None, middle_known))
    same = bench.value("SELECT (SELECT state FROM eventstore.load_state('snapped-1')) = "
                       "(SELECT state FROM eventstore.load_state('unsnapped-1'))")

    ours, baseline = statistics.median(with_snapshots), statistics.median(without)
    p = percentiles(with_snapshots)
    bench.record({
        "case": f"load_state of a {EVENTS:,}-event stream, snapshots every 100 vs none",
        "unit": "ms median", "clients": 1, "ours": ours, "baseline": baseline, "ratio": baseline / ours,
        "ours_label": "with snapshots", "baseline_label": "the same fold over every event",
        "target": "p95 <= 5 ms and >= 50x faster", "met": p["p95"] <= 5.0 and baseline / ours >= 50,
        "ours_latency_ms": p, "baseline_latency_ms": percentiles(without),
        "note": f"same state either way: {same}; ratio = how many times faster",
    })
    for label, times in (("as_of in the middle", past_as_of), ("as_known_at in the middle", past_known)):
        past = percentiles(times)
        bench.record({
            "case": f"load_state {label} vs the current state, {EVENTS:,}-event stream",
            "unit": "ms p95", "clients": 1, "ours": past["p95"], "baseline": p["p95"],
            "ratio": past["p95"] / p["p95"],
            "ours_label": label, "baseline_label": "current state",
            "target": "ratio <= 2", "met": past["p95"] / p["p95"] <= 2.0,
            "ours_latency_ms": past, "baseline_latency_ms": p,
        })
