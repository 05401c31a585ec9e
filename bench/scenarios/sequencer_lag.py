"""sequencer_lag — how long a committed event waits for its global position:
at a steady 5,000 events/s (target: p99 <= 20 ms) and under maximum append
load (single appends, then batches), with the sequencer's backlog sampled
twice a second.

How latency is measured, and why this way:

* Server commit timestamps (track_commit_timestamp = on, set for this
  scenario's cluster only).  An event's commit time is the commit timestamp
  of the transaction that appended it (events.xid); the moment it got its
  position is the commit timestamp of the sequencer round that inserted its
  log_positions row (that row's xmin).  Both come from the one server clock,
  taken the same way at commit, so there is no clock skew and no client
  scheduling in the figure, and every event of the run is measured, not a
  sample.  Both timestamps are taken just before the commit becomes visible;
  the difference between them is the latency a consumer sees.
* A client probe, as a cross-check from the outside: one connection appends
  an event every 20 ms and then polls log_positions for it every 0.5 ms;
  latency = monotonic time from the append's return to the poll that sees it.
  It includes a network round trip and up to one poll interval, so it reads
  a little higher than the server figure.  (wait_for_position cannot serve:
  the probe does not know its position in advance, only that it will have
  one.)

The paced load is pgbench --rate over 4 clients appending batches of 10
events at 500 transactions/s.  Batches, because single-event appends top
out below 5,000/s on a 2-core machine (see the max-load row), and a paced
run the machine cannot hold measures queueing in pgbench, not the
sequencer.  pgbench's schedule lag is reported, so a machine too busy even
for that shows as such instead of passing at a lower rate.
"""
import threading
import time
from collections import namedtuple

import psycopg2

from benchlib import percentiles

TITLE = "sequencer: commit-to-sequenced latency at a steady 5,000 events/s, and under maximum load"
ORDER = 50
CLUSTER_CONF = ["track_commit_timestamp=on"]
PACED_RATE = 5000          # events/s
PACED_BATCH = 10           # events per transaction in the paced run
PACED_CLIENTS = 4
MAX_CLIENTS = 8
BATCH = 100
BATCH_CLIENTS = 4
TARGET_P99_MS = 20.0

# Commit of the appending transaction -> commit of the sequencer round that
# positioned the event, in ms, for every event of one run (its tag).
LATENCY_SQL = """
SELECT extract(epoch FROM pg_xact_commit_timestamp(p.xmin)
                          - pg_xact_commit_timestamp(e.xid::xid)) * 1000
FROM eventstore.events e
JOIN eventstore.log_positions p USING (stream_id, stream_version)
WHERE starts_with(e.stream_id, %s)
"""


class Probe(threading.Thread):
    """Appends an event every `every` seconds and measures how long it takes
    until a poll of log_positions finds it."""

    def __init__(self, stream, every=0.02, poll=0.0005):
        super().__init__(daemon=True)
        self.stream, self.every, self.poll = stream, every, poll
        self.latencies_ms = []
        self.stop = threading.Event()

    def run(self):
        conn = psycopg2.connect("")
        conn.autocommit = True
        with conn.cursor() as cursor:
            while not self.stop.is_set():
                cursor.execute("SELECT eventstore.append(%s, 'Probe', '{}')", (self.stream,))
                version = cursor.fetchone()[0]
                committed = time.monotonic()
                while True:
                    cursor.execute("SELECT 1 FROM eventstore.log_positions "
                                   "WHERE stream_id = %s AND stream_version = %s", (self.stream, version))
                    if cursor.fetchone():
                        break
                    time.sleep(self.poll)
                self.latencies_ms.append((time.monotonic() - committed) * 1000)
                self.stop.wait(self.every)
        conn.close()


# What one load run measured.  server_ms / probe_ms: latency percentiles.
Load = namedtuple("Load", "events_per_s server_ms measured_events max_backlog probe_ms pgbench")


def measure(bench, case, script, clients, rate=None, events_per_tx=1, defines=None, probe=False):
    """One load run of SCRIPT: pgbench, the backlog sampled meanwhile, an
    optional probe, then every event's commit-to-sequenced latency."""
    bench.quiesce()
    tag = f"{bench.scenario}_r{bench.run_count + 1}"
    prober = Probe(tag + "-probe") if probe else None
    if prober:
        prober.start()
    result = bench.pgbench(script, clients, tag=tag, rate=rate, defines=defines, sample=bench.backlog)
    if prober:
        prober.stop.set()
        prober.join()
    bench.wait_for_sequencer()
    server_ms = [float(r[0]) for r in bench.sql(LATENCY_SQL, (tag + "-",))]
    load = Load(events_per_s=result.tps * events_per_tx, server_ms=percentiles(server_ms),
                measured_events=len(server_ms),
                max_backlog=max((value for _, value in result.samples), default=0),
                probe_ms=percentiles(prober.latencies_ms) if prober else None, pgbench=result)
    print(f"    {case}: {load.events_per_s:.0f} events/s, {load.measured_events} events measured, "
          f"max backlog {load.max_backlog}", flush=True)
    return load


def latency_row(bench, case, load, latency_ms, target_ms=None, note=""):
    """Records a latency row: ours = p99 of latency_ms; no baseline."""
    row = {
        "case": case, "unit": "ms p99",
        "ours": latency_ms.get("p99"), "baseline": None, "ratio": None,
        "ours_latency_ms": latency_ms,
        "duration": f"{load.pgbench.duration:.0f} s",
        "note": note,
    }
    if target_ms is None:
        row.update(target="report only", met=None)
    else:
        row.update(target=f"p99 <= {target_ms:g} ms", met=latency_ms.get("p99", float("inf")) <= target_ms)
    return bench.record(row)


def load_note(load):
    return (f"{load.events_per_s:,.0f} events/s appended, {load.measured_events:,} events measured, "
            f"max backlog {load.max_backlog:,} events")


def run(bench):
    paced = measure(bench, f"paced {PACED_RATE} events/s", "append_batch.sql", PACED_CLIENTS,
                    rate=PACED_RATE // PACED_BATCH, events_per_tx=PACED_BATCH,
                    defines={"batch": PACED_BATCH}, probe=True)
    schedule_lag = percentiles(paced.pgbench.lags_ms)
    latency_row(bench, f"commit->sequenced, steady {PACED_RATE:,} events/s (batches of {PACED_BATCH})",
                paced, paced.server_ms, TARGET_P99_MS,
                note=f"{load_note(paced)}; pgbench schedule lag p99 {schedule_lag.get('p99', 0):.1f} ms")
    latency_row(bench, f"client probe (append, poll until positioned), {PACED_RATE:,} events/s", paced,
                paced.probe_ms, note="outside view of the same run: a round trip and the 0.5 ms poll "
                                     "interval are included")

    single = measure(bench, "max load, single appends", "append_single.sql", MAX_CLIENTS)
    latency_row(bench, f"commit->sequenced, max load, append x {MAX_CLIENTS} clients", single,
                single.server_ms, note=load_note(single))
    batches = measure(bench, "max load, batches", "append_batch.sql", BATCH_CLIENTS,
                      events_per_tx=BATCH, defines={"batch": BATCH})
    latency_row(bench, f"commit->sequenced, max load, append_batch({BATCH}) x {BATCH_CLIENTS} clients",
                batches, batches.server_ms, note=load_note(batches))
