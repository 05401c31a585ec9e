"""periods — what accounting periods (eventstore.set_period_policy) cost the
writers, and how fast the period views answer over a year of books.

Appends (target: with policies >= 0.95x the rate without them; 2 x
BENCH_ROUNDS ABBA rounds, as 5% is within a short run's noise): pgbench
-M prepared, 4 clients, one eventstore.append per transaction with an
explicit event_time of now() (the current, open period), each client to
its own 1,000 streams in each of four categories (ledger1..ledger4), so
clients never wait for each other's streams.  ABBA rounds alternate "no
policies" (none anywhere: the books step has nothing to count) and "a
monthly policy with an amount_path on every category" (set_period_policy
before the side, drop_period_policy after it).  Setting a policy counts
the category's past into the books synchronously, and the worker then
counts what was appended meanwhile: the policy side starts only once the
books have caught up with the log, so it pays for its own books and
nobody else's.  The worker (sequencer, projector with the books step)
runs throughout; its books lag behind the sequencer is sampled every
50 ms during the policy side and reported (positions, and seconds: how
long ago the sequencer had reached the position the books had counted),
and so is the CPU time of the sequencer and projector (the books step
runs in the projector's rounds) per 1,000 appends on each side.  Then,
report only, the append path alone: 20,000 appends in one statement per
side (ABBA again), the books step running only after each commit.

Views (target: each p95 <= 20 ms): 1,000,000 events over the last 12
months of event time in category 'ledger' (1,000 streams of 1,000 events,
append_batch of 1,000 events, 10 streams per transaction, 2 connections),
loaded under a monthly policy whose soft_close_after and max_delay (400
days) keep the whole year open, so the append-time rule runs and no event
is late.  Timed: the load, the books catching up with the log afterwards,
and a new policy (drop_period_policy, set_period_policy) counting the whole
past again synchronously.  Then
the 3 oldest months are closed (close_period), 30 events arrive late for
them (10 posted to the open period, 5 rejected, 15 left pending), and once
the books have caught up each view is read 100 times for the category,
timed from the client: periods, period_totals, period_totals_as_closed,
period_corrections.  EXPLAIN ANALYZE of each goes to the logs.
"""
import os
import statistics
import threading
import time
from pathlib import Path

import psycopg2

import benchlib
from benchlib import PAYLOAD, percentiles

TITLE = "accounting periods: append rate with policies vs without; period views over 1,000,000 events"
ORDER = 69

# Appends
CLIENTS = 4
CATEGORIES = ["ledger1", "ledger2", "ledger3", "ledger4"]
STREAMS_PER_CLIENT = 1000          # per category
TARGET_RATIO = 0.95
ROUNDS = 2 * benchlib.ROUNDS       # a 5% target: twice the usual ABBA rounds

# Views
VIEW_CATEGORY = "ledger"
STREAMS = 1000
EVENTS_PER_STREAM = 1000            # one append_batch per stream
STREAMS_PER_STATEMENT = 10          # 10,000 events per transaction
LOAD_CONNECTIONS = 2
CLOSED_MONTHS = 3
LATE_EVENTS, LATE_POSTED, LATE_REJECTED = 30, 10, 5
CALLS = 100
TARGET_VIEW_MS = 20.0
VIEWS = ["periods", "period_totals", "period_totals_as_closed", "period_corrections"]

POLICY = "SELECT eventstore.set_period_policy(%s, 'month', 'UTC', %s::interval, %s::interval, '{amount}')"

APPEND_SCRIPT = """-- periods: one append per transaction, event time now (the open period),
-- to one of this client's 1,000 streams in one of the four categories.
\\set c random(1, {categories})
\\set s random(1, {streams})
SELECT eventstore.append('ledger' || :c::text || '-' || :tag::text || '_' || :client_id::text || '_' || :s::text,
                         'Posted', :payload::jsonb, NULL, NULL, NULL, now());
"""

PATH_APPENDS = 20000
PATH_SQL = """
SELECT count(eventstore.append('ledger' || (1 + i %% %(categories)s) || '-' || %(tag)s || '_' || (i %% %(streams)s),
                               'Posted', %(payload)s::jsonb, NULL, NULL, NULL, now()))
FROM generate_series(1, %(count)s) i
"""

NEXT_XID = "SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint"  # takes no xid itself

HEAD_AND_COUNTED = ("SELECT (SELECT coalesce(max(global_position), 0) FROM eventstore.log_positions), "
                    "(SELECT counted_through FROM eventstore.period_books_state)")

# One stream per s; event i of it at (i - 1 + jitter) / EVENTS_PER_STREAM of
# the year, so every stream's events are in time order and every month gets
# its share.  Both expressions use s: the ARRAY is evaluated per stream.
LOAD_SQL = """
SELECT count(eventstore.append_batch(%(category)s || '-' || s, ARRAY(
    SELECT ROW(NULL, 'Posted',
               %(payload)s::jsonb || jsonb_build_object('amount', round(((s * 7919 + i * 104729) %% 200000) / 100.0 - 500, 2)),
               NULL,
               %(start)s::timestamptz + (%(finish)s::timestamptz - %(start)s::timestamptz)
                   * ((i - 1 + ((s * 48271) %% 1000) / 1000.0) / %(per_stream)s),
               NULL)::eventstore.new_event
    FROM generate_series(1, %(per_stream)s) i)))
FROM generate_series(%(first)s, %(last)s) s
"""


def worker_cpu(bench):
    """CPU seconds (user + system) each worker process of this cluster has used."""
    result = {}
    tick = os.sysconf("SC_CLK_TCK")
    for pid, job in bench.sql("SELECT pid, backend_type FROM pg_stat_activity "
                              "WHERE backend_type IN ('pg_eventstore sequencer', 'pg_eventstore projector')"):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            result[job.split()[-1]] = (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            pass
    return result


def head_and_counted(bench):
    return tuple(bench.sql(HEAD_AND_COUNTED)[0])


def wait_for_books(bench, timeout=600):
    """Until the books have counted every sequenced position (only meaningful
    while some policy exists); returns seconds waited."""
    started = time.time()
    bench.wait_for_sequencer(timeout)
    while True:
        head, counted = head_and_counted(bench)
        if counted >= head:
            return time.time() - started
        if time.time() - started > timeout:
            raise RuntimeError(f"the period books did not catch up within {timeout} s "
                               f"(counted through {counted}, head {head})")
        time.sleep(0.05)


def books_lag(samples):
    """Per sample: positions the books were behind the sequencer, and seconds
    since the sequencer had first reached the position the books had counted
    (0 when caught up).  samples: [(t, (head, counted))]."""
    positions, seconds = [], []
    for t, (head, counted) in samples:
        positions.append(max(0, head - counted))
        if counted >= head:
            seconds.append(0.0)
            continue
        # When the sequencer's head passed `counted`, interpolated between samples.
        reached = t
        for (t0, (h0, _)), (t1, (h1, _)) in zip([samples[0]] + samples, samples):
            if h1 >= counted:
                reached = t1 if h1 == h0 or h0 >= counted else t0 + (counted - h0) / (h1 - h0) * (t1 - t0)
                break
        seconds.append(max(0.0, t - reached))
    return positions, seconds


# ---- appends with and without policies ----------------------------------------


def set_policies(bench):
    """Policies on every category; returns seconds spent in set_period_policy."""
    started = time.perf_counter()
    for category in CATEGORIES:
        bench.sql(POLICY, (category, "1 day", "5 days"))
    return time.perf_counter() - started


def drop_policies(bench):
    for category in CATEGORIES:
        bench.sql("SELECT eventstore.drop_period_policy(%s)", (category,))


def append_comparison(bench):
    script = (bench.log_dir / "periods_append.sql").resolve()
    script.write_text(APPEND_SCRIPT.format(categories=len(CATEGORIES), streams=STREAMS_PER_CLIENT))
    rates = {"policies": [], "none": []}
    latencies = {"policies": [], "none": []}
    totals = {"policies": 0, "none": 0}
    other_xids = {"policies": 0, "none": 0}   # transaction ids taken besides the appends: the worker's writes
    cpu = {"policies": {}, "none": {}}         # worker CPU seconds per job
    lag_positions, lag_seconds, catch_up, set_seconds = [], [], [], []
    policies_on = False
    for round_number in range(1, ROUNDS + 1):
        order = ["none", "policies"] if round_number % 2 else ["policies", "none"]
        for side in order:
            if side == "policies" and not policies_on:
                set_seconds.append(set_policies(bench))
                policies_on = True
                wait_for_books(bench)   # the worker's share of the last "none" side
            elif side == "none" and policies_on:
                drop_policies(bench)
                policies_on = False
            bench.quiesce()
            xid_before = bench.value(NEXT_XID)
            cpu_before = worker_cpu(bench)
            result = bench.pgbench(str(script), CLIENTS, tag=f"periods_{side}{round_number}",
                                   sample=lambda: head_and_counted(bench), sample_every=0.05)
            other_xids[side] += bench.value(NEXT_XID) - xid_before - result.transactions
            for job, seconds in worker_cpu(bench).items():
                cpu[side][job] = cpu[side].get(job, 0.0) + seconds - cpu_before.get(job, seconds)
            rates[side].append(result.tps)
            latencies[side].extend(result.latencies_ms)
            totals[side] += result.transactions
            extra = ""
            if side == "policies":
                positions, seconds = books_lag(result.samples)
                lag_positions += positions
                lag_seconds += seconds
                catch_up.append(wait_for_books(bench))
                extra = (f", books lag p95 {percentiles(positions)['p95']:,} positions / "
                         f"{percentiles(seconds)['p95'] * 1000:.0f} ms, caught up {catch_up[-1]:.2f} s after")
            print(f"    appends: {side:8s} round {round_number}: {result.tps:10.1f} events/s "
                  f"({result.transactions} transactions{extra})", flush=True)
    if policies_on:
        drop_policies(bench)
    bench.quiesce()

    ours = sum(rates["policies"]) / len(rates["policies"])
    baseline = sum(rates["none"]) / len(rates["none"])
    ratio = ours / baseline
    bench.record({
        "case": f"append, {CLIENTS} clients, {len(CATEGORIES)} categories: monthly policies on every category vs none",
        "unit": "events/s", "clients": CLIENTS, "ours": ours, "baseline": baseline, "ratio": ratio,
        "ours_label": "policies on every category", "baseline_label": "no period policies",
        "ours_runs": rates["policies"], "baseline_runs": rates["none"],
        "ours_latency_ms": percentiles(latencies["policies"]),
        "baseline_latency_ms": percentiles(latencies["none"]),
        "duration": f"{ROUNDS} x {benchlib.SECONDS} s per side",
        "target": f"ratio >= {TARGET_RATIO:g}", "met": ratio >= TARGET_RATIO,
        "note": (f"event_time now() (open period); policies set before each policy side "
                 f"({', '.join(f'{s:.2f}' for s in set_seconds)} s for the four set_period_policy calls, "
                 "counting the categories' past) and the books caught up before it started; "
                 f"other write transactions (the worker's rounds) per append: "
                 f"{other_xids['none'] / totals['none']:.2f} without policies, "
                 f"{other_xids['policies'] / totals['policies']:.2f} with; worker CPU per 1,000 appends: "
                 + ", ".join(f"{job} {cpu['none'].get(job, 0) * 1e6 / totals['none']:.0f} ms without, "
                             f"{cpu['policies'].get(job, 0) * 1e6 / totals['policies']:.0f} ms with"
                             for job in ("sequencer", "projector"))),
    })
    lag_ms = {k: v * 1000 for k, v in percentiles(lag_seconds).items()}
    position_lag = percentiles(lag_positions)
    bench.record({
        "case": "period books behind the sequencer during the policy side's appends",
        "unit": "ms p95", "clients": CLIENTS, "ours": lag_ms.get("p95"), "baseline": None, "ratio": None,
        "ours_latency_ms": lag_ms,
        "target": "report only", "met": None,
        "note": (f"sampled every 50 ms: positions behind p50 {position_lag.get('p50', 0):,} / "
                 f"p95 {position_lag.get('p95', 0):,} / max {max(lag_positions, default=0):,}; "
                 f"seconds = how long before the sample the sequencer had reached the counted position; "
                 f"books caught up {', '.join(f'{s:.2f}' for s in catch_up)} s after the runs ended"),
    })


def append_path_alone(bench):
    """The append path's own cost: PATH_APPENDS appends in one statement (one
    transaction) per side, so the worker's books step, which runs after the
    commit, is out of the measurement; ABBA rounds as above."""
    seconds = {"policies": [], "none": []}
    policies_on = False
    for round_number in range(1, ROUNDS + 1):
        order = ["none", "policies"] if round_number % 2 else ["policies", "none"]
        for side in order:
            if side == "policies" and not policies_on:
                set_policies(bench)
                policies_on = True
            elif side == "none" and policies_on:
                wait_for_books(bench)
                drop_policies(bench)
                policies_on = False
            if policies_on:
                wait_for_books(bench)
            bench.quiesce()
            started = time.perf_counter()
            bench.sql(PATH_SQL, {"categories": len(CATEGORIES), "tag": f"alone_{side}{round_number}",
                                 "streams": STREAMS_PER_CLIENT, "payload": PAYLOAD, "count": PATH_APPENDS})
            seconds[side].append(time.perf_counter() - started)
    if policies_on:
        wait_for_books(bench)
        drop_policies(bench)
    ours = PATH_APPENDS / statistics.median(seconds["policies"])
    baseline = PATH_APPENDS / statistics.median(seconds["none"])
    bench.record({
        "case": f"append path alone: {PATH_APPENDS:,} appends in one statement, policies on every category vs none",
        "unit": "events/s", "clients": 1, "ours": ours, "baseline": baseline, "ratio": ours / baseline,
        "ours_label": "policies on every category", "baseline_label": "no period policies",
        "ours_runs": [PATH_APPENDS / x for x in seconds["policies"]],
        "baseline_runs": [PATH_APPENDS / x for x in seconds["none"]],
        "duration": f"{ROUNDS} statements per side, median",
        "target": "report only", "met": None,
        "note": ("period lock, cached rule and classification without the worker's books step (which counts "
                 "after the commit): what the policy side's append rate owes to the append path itself"),
    })


# ---- the views over a year of books ---------------------------------------------


def load_year(bench, start, finish):
    """LOAD_CONNECTIONS connections append STREAMS streams; returns seconds."""
    chunks = [(first, min(first + STREAMS_PER_STATEMENT - 1, STREAMS))
              for first in range(1, STREAMS + 1, STREAMS_PER_STATEMENT)]
    errors = []

    def work(mine):
        try:
            connection = psycopg2.connect("")
            connection.autocommit = True
            with connection.cursor() as cursor:
                for first, last in mine:
                    cursor.execute(LOAD_SQL, {"category": VIEW_CATEGORY, "payload": PAYLOAD, "start": start,
                                              "finish": finish, "per_stream": EVENTS_PER_STREAM,
                                              "first": first, "last": last})
            connection.close()
        except Exception as error:  # reported by the caller
            errors.append(error)

    threads = [threading.Thread(target=work, args=(chunks[i::LOAD_CONNECTIONS],)) for i in range(LOAD_CONNECTIONS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - started


def timed_calls(bench, statement, args):
    for _ in range(5):  # warm-up: plans and caches
        rows = bench.sql(statement, args)
    times = []
    for _ in range(CALLS):
        started = time.perf_counter()
        bench.sql(statement, args)
        times.append((time.perf_counter() - started) * 1000.0)
    return times, len(rows)


def views(bench):
    total = STREAMS * EVENTS_PER_STREAM
    # The last 12 months of event time: 11 whole months and the current one up to now.
    start, finish = bench.sql("SELECT date_trunc('month', now(), 'UTC') - interval '11 months', now()")[0]
    bench.sql(POLICY, (VIEW_CATEGORY, "400 days", "400 days"))  # the whole year stays open
    wait_for_books(bench)
    bench.sql("CHECKPOINT")

    load_s = load_year(bench, start, finish)
    loaded_at = time.time()
    sequencer_s = bench.wait_for_sequencer(600)
    books_s = wait_for_books(bench)
    books_after_load_s = time.time() - loaded_at
    late = bench.value("SELECT count(*) FROM eventstore.late_events WHERE category = %s", (VIEW_CATEGORY,))
    print(f"    load: {total:,} events in {load_s:.1f} s; sequenced {sequencer_s:.1f} s and books counted "
          f"{books_after_load_s:.1f} s after the load ended; {late} late", flush=True)
    bench.record({
        "case": f"load {total:,} events over 12 months under a monthly policy (append_batch of {EVENTS_PER_STREAM:,})",
        "unit": "events/s", "clients": LOAD_CONNECTIONS, "ours": total / load_s, "baseline": None, "ratio": None,
        "target": "report only", "met": None,
        "note": (f"load {load_s:.1f} s ({STREAMS_PER_STATEMENT * EVENTS_PER_STREAM:,} events per transaction, "
                 f"{LOAD_CONNECTIONS} connections); after it: sequenced within {sequencer_s:.1f} s, books counted "
                 f"within {books_after_load_s:.1f} s (so {total / (load_s + books_after_load_s):,.0f} events/s "
                 f"from first append to counted); {late} events recorded late"),
    })

    # The policy made again (dropped, then set): a new policy counts the whole past synchronously.
    # (Setting it again unchanged would keep the books and count nothing.)
    bench.sql("CHECKPOINT")
    started = time.perf_counter()
    bench.sql("SELECT eventstore.drop_period_policy(%s)", (VIEW_CATEGORY,))
    bench.sql(POLICY, (VIEW_CATEGORY, "400 days", "400 days"))
    recount_s = time.perf_counter() - started
    wait_for_books(bench)
    books = bench.sql("SELECT count(*), sum(events), sum(amount) FROM eventstore.period_books WHERE category = %s",
                      (VIEW_CATEGORY,))[0]
    log = bench.sql("SELECT count(*), sum((data->>'amount')::numeric) FROM eventstore.events "
                    "WHERE starts_with(stream_id, %s)", (VIEW_CATEGORY + "-",))[0]
    agree = books[1] == log[0] and books[2] == log[1]
    print(f"    set_period_policy over {total:,} past events: {recount_s:.1f} s; {books[0]} periods; "
          f"books {books[1]:,} events / {books[2]} vs log {log[0]:,} / {log[1]}", flush=True)
    bench.record({
        "case": f"set_period_policy counting {total:,} past events into the books (synchronous)",
        "unit": "s", "clients": 1, "ours": recount_s, "baseline": None, "ratio": None,
        "target": "report only", "met": None,
        "note": (f"{total / recount_s:,.0f} events/s; {books[0]} monthly periods; the books agree with the log "
                 f"(events and sum of amounts): {agree}"),
    })

    # Close the oldest months, then events arrive late for them.
    months = [row[0] for row in bench.sql(
        "SELECT period_start FROM eventstore.period_books WHERE category = %s ORDER BY period_start LIMIT %s",
        (VIEW_CATEGORY, CLOSED_MONTHS))]
    started = time.perf_counter()
    for month in months:
        bench.sql("SELECT eventstore.close_period(%s, %s, 'bench: month end')", (VIEW_CATEGORY, month))
    close_s = time.perf_counter() - started
    for n in range(LATE_EVENTS):
        bench.sql("SELECT eventstore.append(%s, 'Posted', %s::jsonb, NULL, NULL, NULL, %s::timestamptz + interval '14 days')",
                  (f"{VIEW_CATEGORY}-late{n}", PAYLOAD, months[n % len(months)]))
    ids = [row[0] for row in bench.sql("SELECT id FROM eventstore.late_events WHERE category = %s ORDER BY id",
                                       (VIEW_CATEGORY,))]
    for late_id in ids[:LATE_POSTED]:
        bench.sql("SELECT eventstore.resolve_late_event(%s, 'post_to_open_period', 'bench: posted')", (late_id,))
    for late_id in ids[LATE_POSTED:LATE_POSTED + LATE_REJECTED]:
        bench.sql("SELECT eventstore.resolve_late_event(%s, 'reject', 'bench: rejected')", (late_id,))
    wait_for_books(bench)
    frozen, closed = bench.sql("SELECT count(*) FILTER (WHERE close_position IS NOT NULL AND events > 0), count(*) "
                               "FROM eventstore.period_totals_as_closed WHERE category = %s", (VIEW_CATEGORY,))[0]
    pending = bench.value("SELECT sum(open_exceptions) FROM eventstore.periods WHERE category = %s", (VIEW_CATEGORY,))
    bench.sql("VACUUM ANALYZE eventstore.period_books, eventstore.period_states, eventstore.late_events, "
              "eventstore.period_policies")
    bench.sql("CHECKPOINT")

    for view in VIEWS:
        statement = f"SELECT * FROM eventstore.{view} WHERE category = %s"
        plan = bench.sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, (VIEW_CATEGORY,))
        (bench.log_dir / f"explain_{view}.txt").write_text("\n".join(row[0] for row in plan) + "\n")
        times, rows = timed_calls(bench, statement, (VIEW_CATEGORY,))
        p = percentiles(times)
        print(f"    {view}: {rows} rows, p50 {p['p50']:.2f} ms, p95 {p['p95']:.2f} ms", flush=True)
        bench.record({
            "case": f"SELECT * FROM eventstore.{view} for one category, 12 monthly periods, {total:,} events",
            "unit": "ms p95", "clients": 1, "ours": p["p95"], "baseline": None, "ratio": None,
            "ours_latency_ms": p,
            "target": f"p95 <= {TARGET_VIEW_MS:g} ms", "met": p["p95"] <= TARGET_VIEW_MS,
            "note": (f"{rows} rows, {CALLS} calls timed from the client; {CLOSED_MONTHS} months closed "
                     f"({close_s:.2f} s for the close_period calls), {LATE_EVENTS} late events "
                     f"({LATE_POSTED} posted to the open period, {LATE_REJECTED} rejected, {pending} pending); "
                     f"{frozen} of {closed} closed periods frozen by the books at their close position"),
        })


def run(bench):
    append_comparison(bench)   # first, on the fresh cluster: no other policy exists
    append_path_alone(bench)
    views(bench)
