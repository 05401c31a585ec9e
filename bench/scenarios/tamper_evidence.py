"""tamper_evidence — what the Merkle tree and the signed checkpoints cost
(issue 17's targets), and how fast the log can be verified offline.

Anchoring "on" is what docs/tamper-evidence.md recommends, tightened:
pg_eventstore.checkpoint_interval = 1s, checkpoint_interval_events =
10000, an Ed25519 signing key and a checkpoint_file (fsynced per
checkpoint).  "Off" is checkpoint_interval = 0: no tree, no checkpoints.
The two are switched with ALTER SYSTEM and pg_reload_conf() before each
run (Side.prepare); switching on waits until the worker has built the tree
over everything appended while it was off and written a checkpoint that
covers the log, so every "on" run starts in the steady state and pays
only for its own events.  Checkpoints are counted per mode: one written
during an "off" run means the switch did not take, and breaks the run.

1. Appenders: eventstore.append, 1 and 8 clients, on vs off in ABBA rounds
   (off, on, on, off, ...), twice BENCH_ROUNDS of 2/3 BENCH_SECONDS each.
   Target on/off >= 0.97.
2. The sequencer: an open transaction holds eventstore.sequencer_lock in
   EXCLUSIVE mode, so the sequencer's round waits on it, while 4 clients
   append BACKLOG events (append_batch of 100); then it commits, and the
   time from that commit until eventstore.wait_for_position() sees the last
   of them sequenced gives the sequencer's rate, on vs off in ABBA rounds.
   Target on/off >= 0.9.  A backlog is sequenced in one round, whose
   positions become visible at its commit, so the anchoring step cannot
   start on the backlog before the round ends: what the ratio can show is
   the projector's process (its look every 100 ms, the tree it just built)
   competing for the 2 cores.  In the "on" runs, the time from the end of
   sequencing until checkpoint_status.stored_tree_positions covers the
   backlog gives the tree's build rate (reported against the sequencer's).
3. Verification, on a log of its own, measured first (on a fresh cluster,
   so its size is known): 200,000 events (2,000 streams of 100, the bench
   payload, as verify_all.py loads them), appended 10,000 at a time with
   a signed checkpoint after each (20 in all), exported with
   COPY (SELECT * FROM eventstore.export_log()) TO STDOUT, the checkpoints
   with COPY (SELECT line FROM eventstore.checkpoints ...), once a signed
   checkpoint covers the whole log.  pg_eventstore_verify (signatures,
   every event hash, the ledger, the Merkle roots) and openssl dgst -sha256
   each run 3 times over the same file, best wall time each (the process
   start included for both): MB/s of the export file, target verifier /
   openssl >= 0.5.  SELECT * FROM eventstore.verify_all() over the same
   log, best of 3, gives MB/s of the same file against the same openssl
   figure (report only); its note splits its time by component: each of
   its checks timed alone, and the cost of event_hash, of the jsonb text
   form event_hash hashes, and of ledger_hash over every event or position
   (each call timed in a plain scan, less the same scan without it).
"""
import os
import shutil
import subprocess
import time

import psycopg2

from benchlib import BENCH_DIR, PAYLOAD, ROUNDS, SECONDS, Side

TITLE = "tamper evidence: Merkle tree and signed checkpoints on vs off; offline verifier vs openssl"
ORDER = 75
TARGET_APPEND_RATIO = 0.97
# A 3% target is inside the noise of one short run on a shared machine (a
# 1-client run moves by 8% from one run to the next), so the appenders get
# twice the usual ABBA rounds, of 2/3 the usual length, to stay near 4 minutes.
APPEND_ROUNDS = 2 * ROUNDS
APPEND_SECONDS = max(3, SECONDS * 2 // 3)
TARGET_SEQUENCER_RATIO = 0.9
TARGET_VERIFIER_RATIO = 0.5
BACKLOG_CLIENTS = 4
BACKLOG_BATCH = 100
BACKLOG_TRANSACTIONS = 750            # per client: 4 x 750 x 100 = 300,000 events
BACKLOG = BACKLOG_CLIENTS * BACKLOG_TRANSACTIONS * BACKLOG_BATCH
VERIFY_STREAMS = 2000
VERIFY_EVENTS_PER_STREAM = 100
REPEATS = 3
VERIFIER = BENCH_DIR.parent / "tools" / "pg_eventstore_verify"

LOAD_SQL = """
SELECT count(eventstore.append_batch('verify-' || s,
           ARRAY(SELECT ROW(NULL, 'Deposited', %s::jsonb, NULL, NULL, NULL)::eventstore.new_event
                 FROM generate_series(1, %s))))
FROM generate_series(%s, %s) AS s
"""

STATUS_SQL = ("SELECT sequenced_position, stored_tree_positions, checkpointed_position, "
              "coalesce(last_checkpoint, 0) FROM eventstore.checkpoint_status")


class Anchoring:
    """Switches anchoring on and off through ALTER SYSTEM, and counts the
    checkpoints written in each mode."""

    def __init__(self, bench):
        self.bench = bench
        directory = os.path.join(os.environ.get("CLUSTER_DIR") or str(bench.log_dir), "anchor")
        os.makedirs(directory, exist_ok=True)
        self.key = os.path.join(directory, "checkpoint.key")
        self.public_key = os.path.join(directory, "checkpoint.pub")
        self.file = os.path.join(directory, "checkpoints.jsonl")
        subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", self.key], check=True)
        subprocess.run(["openssl", "pkey", "-in", self.key, "-pubout", "-out", self.public_key], check=True)
        os.chmod(self.key, 0o600)
        if os.geteuid() == 0:  # the server runs as postgres and must read the key and write the file
            shutil.chown(directory, "postgres")
            shutil.chown(self.key, "postgres")
        self.mode = None
        self.checkpoints_at_switch = 0
        self.written = {"on": 0, "off": 0}
        self.runs = {"on": 0, "off": 0}

    def status(self):
        return self.bench.sql(STATUS_SQL)[0]

    def set(self, settings):
        for name, value in settings.items():
            self.bench.sql(f"ALTER SYSTEM SET pg_eventstore.{name} = %s", (value,))
        self.bench.sql("SELECT pg_reload_conf()")

    def account(self):
        """Attributes the checkpoints written since the last switch to the mode then in force."""
        number = self.status()[3]
        if self.mode is not None:
            self.written[self.mode] += number - self.checkpoints_at_switch
            if self.mode == "off" and number != self.checkpoints_at_switch:
                raise RuntimeError(f"{number - self.checkpoints_at_switch} checkpoints were written while "
                                   f"anchoring was off: the worker did not take the setting")
        return number

    def on(self, bench=None):
        self.account()
        self.set({"checkpoint_interval": "1s", "checkpoint_interval_events": "10000",
                  "checkpoint_signing_key": self.key, "checkpoint_file": self.file})
        self.mode = "on"
        self.runs["on"] += 1
        self.checkpoints_at_switch = self.caught_up()

    def caught_up(self, timeout=120):
        """Waits until the tree covers every sequenced block of 256 and a
        checkpoint covers the whole log; returns the newest checkpoint's number."""
        self.bench.wait_for_sequencer()
        deadline = time.time() + timeout
        while True:
            sequenced, stored, checkpointed, number = self.status()
            if stored >= sequenced // 256 * 256 and checkpointed == sequenced:
                return number
            if time.time() > deadline:
                raise RuntimeError(f"anchoring did not catch up: {self.status()}")
            time.sleep(0.01)

    def off(self, bench=None):
        self.account()
        self.set({"checkpoint_interval": "0"})
        self.mode = "off"
        self.runs["off"] += 1
        time.sleep(0.3)  # a checkpoint the step was writing as the reload came
        self.checkpoints_at_switch = self.status()[3]

    def settle(self):
        """Counts the last run's checkpoints; returns {mode: (checkpoints, runs)}."""
        self.checkpoints_at_switch = self.account()
        return {mode: (self.written[mode], self.runs[mode]) for mode in ("on", "off")}

    def reset_counts(self):
        self.settle()
        self.written = {"on": 0, "off": 0}
        self.runs = {"on": 0, "off": 0}


def best_of(action, repeats=REPEATS):
    """Best wall time of REPEATS runs of action() (the first also warms the cache)."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times)


def seconds_of(bench, query, repeats=2):
    return best_of(lambda: bench.sql(query), repeats)


# ---- 3. verification ------------------------------------------------------

def verify_all_breakdown(bench, total_s):
    """Where verify_all's time goes: its checks alone, and the hash calls in
    plain serial scans less the same scans without them."""
    parts = {
        "stream chains": seconds_of(bench, "SELECT count(*) FROM eventstore.check_stream_chains(NULL)"),
        "ledger": seconds_of(bench, "SELECT count(*) FROM eventstore.check_ledger()"),
        "categories, period closes, counts": sum(seconds_of(bench, q) for q in (
            "SELECT count(*) FROM eventstore.check_categories(NULL)",
            "SELECT count(*) FROM eventstore.check_period_closes()",
            "SELECT count(*) FROM eventstore.events", "SELECT count(*) FROM eventstore.log_positions")),
    }
    bench.sql("SET max_parallel_workers_per_gather = 0")  # the hashes run in one process in verify_all too
    events_scan = seconds_of(bench, "SELECT sum(length(e.hash)) FROM eventstore.events e")
    event_hash = seconds_of(bench, """
        SELECT sum(length(eventstore.event_hash(e.stream_id, e.stream_version, e.event_id, e.event_type,
                                                e.schema_version, e.event_time, e.data, e.metadata, e.hash)))
        FROM eventstore.events e""") - events_scan
    jsonb_text = seconds_of(bench, "SELECT sum(length(e.data::text)) FROM eventstore.events e") - events_scan
    positions_scan = seconds_of(bench, "SELECT sum(length(p.ledger_hash)) FROM eventstore.log_positions p")
    ledger_hash = seconds_of(bench, """
        SELECT sum(length(eventstore.ledger_hash(p.ledger_hash, p.ledger_hash, p.global_position)))
        FROM eventstore.log_positions p""") - positions_scan
    bench.sql("RESET max_parallel_workers_per_gather")
    plpgsql = total_s - sum(parts.values())
    hashing = event_hash + ledger_hash
    text = (f"of {total_s:.2f} s: stream chains {parts['stream chains']:.2f} s, ledger {parts['ledger']:.2f} s, "
            f"categories + period closes + counts {parts['categories, period closes, counts']:.2f} s, "
            f"the PL/pgSQL loop over one row per stream "
            f"{f'{plpgsql:.2f} s' if plpgsql >= 0.02 else 'too little to measure'}; the hash calls within: "
            f"event_hash {event_hash:.2f} s (of it the jsonb text form {jsonb_text:.2f} s), ledger_hash "
            f"{ledger_hash:.2f} s, so {hashing / total_s:.0%} hashing and {1 - hashing / total_s:.0%} "
            f"scans, sorts, windows and joins")
    return text


def verification(bench, anchoring):
    events = VERIFY_STREAMS * VERIFY_EVENTS_PER_STREAM
    anchoring.on()  # before the first event: every checkpoint of this log is signed
    started = time.time()
    # In chunks of 10,000 events, each sequenced and covered by a checkpoint
    # before the next, so that the verifier checks a chain of checkpoints,
    # as checkpoint_interval_events = 10000 makes them under a steady load.
    streams_per_chunk = 10000 // VERIFY_EVENTS_PER_STREAM
    for first in range(1, VERIFY_STREAMS + 1, streams_per_chunk):
        bench.sql(LOAD_SQL, (PAYLOAD, VERIFY_EVENTS_PER_STREAM, first,
                             min(first + streams_per_chunk, VERIFY_STREAMS + 1) - 1))
        anchoring.caught_up()  # sequenced, the tree built, a checkpoint covering the whole log
    bench.sql("VACUUM ANALYZE")  # hint bits and statistics, so no timed run pays for them
    print(f"    loaded, sequenced and checkpointed {events:,} events in {time.time() - started:.1f} s", flush=True)
    if not bench.value("SELECT signed FROM eventstore.checkpoint_status"):
        raise RuntimeError("the newest checkpoint is not signed")

    log_path = bench.log_dir / "log.copy"
    checkpoints_path = bench.log_dir / "checkpoints.txt"
    started = time.perf_counter()
    with bench.conn.cursor() as cursor, open(log_path, "wb") as out:
        cursor.copy_expert("COPY (SELECT * FROM eventstore.export_log()) TO STDOUT", out)
    export_s = time.perf_counter() - started
    with bench.conn.cursor() as cursor, open(checkpoints_path, "wb") as out:
        cursor.copy_expert("COPY (SELECT line FROM eventstore.checkpoints ORDER BY checkpoint) TO STDOUT", out)
    size = log_path.stat().st_size
    megabytes = size / 1e6

    if not VERIFIER.exists():
        raise RuntimeError(f"{VERIFIER} is missing: make builds it")
    verifier_output = []

    def verify_offline():
        result = subprocess.run([str(VERIFIER), "--log", str(log_path), "--checkpoints", str(checkpoints_path),
                                 "--public-key", anchoring.public_key], capture_output=True, text=True)
        if result.returncode != 0 or not result.stdout.startswith("OK"):
            raise RuntimeError(f"pg_eventstore_verify failed ({result.returncode}): "
                               f"{result.stdout.strip()} {result.stderr.strip()}")
        verifier_output.append(result.stdout.strip())

    verifier_s = best_of(verify_offline)
    openssl_s = best_of(lambda: subprocess.run(["openssl", "dgst", "-sha256", str(log_path)], check=True,
                                               stdout=subprocess.DEVNULL))

    def verify_in_database():
        rows = bench.sql("SELECT ok, detail FROM eventstore.verify_all()")
        if not all(ok for ok, _ in rows):
            raise RuntimeError(f"verify_all found a problem: {rows[:3]}")

    verify_all_s = best_of(verify_in_database)
    breakdown = verify_all_breakdown(bench, verify_all_s)
    log_path.unlink()

    openssl_rate = megabytes / openssl_s
    checkpoints = bench.value("SELECT count(*) FROM eventstore.checkpoints")
    bench.record({
        "case": f"pg_eventstore_verify over {events:,} events ({megabytes:.0f} MB export)",
        "unit": "MB/s", "ours": megabytes / verifier_s, "baseline": openssl_rate,
        "ratio": openssl_s / verifier_s,
        "ours_label": "pg_eventstore_verify", "baseline_label": "openssl dgst -sha256 (same file)",
        "target": f"ratio >= {TARGET_VERIFIER_RATIO:g}", "met": openssl_s / verifier_s >= TARGET_VERIFIER_RATIO,
        "duration": f"best of {REPEATS}: verifier {verifier_s:.3f} s, openssl {openssl_s:.3f} s",
        "note": (f"{events / verifier_s:,.0f} events/s; checks {checkpoints} signed checkpoints, every event hash, "
                 f"the ledger and the Merkle roots; wall time with the process start; the tool's own figure: "
                 f"{verifier_output[-1].rsplit('; ', 1)[-1]}; export_log COPY to a file took {export_s:.2f} s "
                 f"({megabytes / export_s:,.0f} MB/s)"),
    })
    bench.record({
        "case": f"verify_all() over the same {events:,} events",
        "unit": "MB/s", "ours": megabytes / verify_all_s, "baseline": openssl_rate,
        "ratio": openssl_s / verify_all_s,
        "ours_label": "eventstore.verify_all()", "baseline_label": "openssl dgst -sha256 (the export file)",
        "target": "report only", "met": None,
        "duration": f"best of {REPEATS}: verify_all {verify_all_s:.2f} s, openssl {openssl_s:.3f} s",
        "note": (f"{events / verify_all_s:,.0f} events/s, {verifier_s / verify_all_s:.2f}x the offline "
                 f"verifier; MB of the export file; {breakdown}"),
    })


# ---- 1. appenders ---------------------------------------------------------

def appenders(bench, anchoring):
    script = "append_single.sql"
    on = Side(script, label="append, anchoring on", prepare=anchoring.on)
    off = Side(script, label="append, anchoring off", prepare=anchoring.off)
    for clients in (1, 8):
        anchoring.reset_counts()
        measured = bench.measure(f"append, {clients} client{'s' if clients > 1 else ''}",
                                 {"off": off, "on": on}, clients, seconds=APPEND_SECONDS, rounds=APPEND_ROUNDS)
        written, runs = anchoring.settle()["on"]
        events = measured["on"]["totals"]["events"]
        bench.ratio_row(f"append, {clients} client{'s' if clients > 1 else ''}: anchoring on vs off", measured,
                        "on", "off", TARGET_APPEND_RATIO, worker_note=False,
                        note=(f"{written} checkpoints in the {runs} on runs "
                              f"({written / (runs * APPEND_SECONDS):.2f}/s, "
                              f"{events / max(written, 1):,.0f} events each), none in the off runs; "
                              f"1s / 10,000 events, signed, fsynced to a file"))


# ---- 2. the sequencer -----------------------------------------------------

def drain_backlog(bench, anchoring, mode, tag):
    """Builds a backlog behind the sequencer lock, releases it; returns
    (events/s sequenced, tree build (positions, seconds) or None)."""
    (anchoring.on if mode == "on" else anchoring.off)()
    bench.quiesce()
    first = bench.value("SELECT coalesce(max(global_position), 0) FROM eventstore.log_positions")
    stored_before = anchoring.status()[1]
    holder = psycopg2.connect("")
    try:
        with holder.cursor() as cursor:
            cursor.execute("LOCK TABLE eventstore.sequencer_lock IN EXCLUSIVE MODE")
        bench.pgbench("append_batch.sql", BACKLOG_CLIENTS, tag=tag, transactions=BACKLOG_TRANSACTIONS,
                      defines={"batch": BACKLOG_BATCH})
        if bench.value("SELECT coalesce(max(global_position), 0) FROM eventstore.log_positions") != first:
            raise RuntimeError("events were sequenced while the sequencer lock was held")
        last = first + BACKLOG
        released = time.perf_counter()
        holder.commit()
    finally:
        holder.close()
    if not bench.value("SELECT eventstore.wait_for_position(%s, '300 s')", (last,)):
        raise RuntimeError(f"position {last} was not reached")
    sequenced = time.perf_counter()
    if bench.value("SELECT max(global_position) FROM eventstore.log_positions") != last:
        raise RuntimeError(f"the log does not end at {last} after the backlog")
    rate = BACKLOG / (sequenced - released)
    tree = None
    if mode == "on":
        target = last // 256 * 256
        while anchoring.status()[1] < target:
            if time.perf_counter() - sequenced > 120:
                raise RuntimeError("the tree did not catch up with the backlog")
            time.sleep(0.005)
        tree = (target - stored_before, time.perf_counter() - sequenced)
    print(f"    sequencer, anchoring {mode}: {BACKLOG:,} events in {sequenced - released:.2f} s "
          f"({rate:,.0f} events/s)" + (f"; tree over them {tree[1]:.2f} s later" if tree else ""), flush=True)
    return rate, tree


def sequencer(bench, anchoring):
    anchoring.reset_counts()
    rates = {"on": [], "off": []}
    trees = []
    for round_number in range(1, ROUNDS + 1):  # off, on, on, off, ...
        for mode in ("off", "on") if round_number % 2 else ("on", "off"):
            rate, tree = drain_backlog(bench, anchoring, mode, f"{bench.scenario}_backlog_{mode}{round_number}")
            rates[mode].append(rate)
            if tree:
                trees.append(tree)
    anchoring.settle()
    on, off = (sum(rates[m]) / len(rates[m]) for m in ("on", "off"))
    bench.record({
        "case": f"sequencer drains a {BACKLOG:,}-event backlog: anchoring on vs off",
        "unit": "events/s", "ours": on, "baseline": off, "ratio": on / off,
        "ours_label": "sequencer, anchoring on", "baseline_label": "sequencer, anchoring off",
        "ours_runs": rates["on"], "baseline_runs": rates["off"],
        "target": f"ratio >= {TARGET_SEQUENCER_RATIO:g}", "met": on / off >= TARGET_SEQUENCER_RATIO,
        "duration": f"{len(rates['on'])} backlogs per side, in ABBA order",
        "note": (f"append_batch({BACKLOG_BATCH}) x {BACKLOG_CLIENTS} clients behind the sequencer lock, then "
                 f"from its release to wait_for_position of the last event; one sequencer round per backlog, "
                 f"so the tree can start only once it commits"),
    })
    positions = sum(p for p, _ in trees)
    seconds = sum(s for _, s in trees)
    tree_rate = positions / seconds
    bench.record({
        "case": "anchoring step builds the tree over the backlog",
        "unit": "events/s", "ours": tree_rate, "baseline": on, "ratio": tree_rate / on,
        "ours_label": "Merkle tree (blocks of 256 stored)", "baseline_label": "sequencer, anchoring on",
        "target": "report only", "met": None,
        "duration": f"{len(trees)} backlogs of {BACKLOG:,} events",
        "note": (f"from the end of the sequencer's round until checkpoint_status.stored_tree_positions "
                 f"covers the backlog: {seconds / len(trees):.2f} s per backlog (polled every 5 ms)"),
    })


def run(bench):
    anchoring = Anchoring(bench)
    verification(bench, anchoring)
    appenders(bench, anchoring)
    sequencer(bench, anchoring)
