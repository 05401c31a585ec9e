"""benchlib.py — what every benchmark scenario uses.

A scenario (one file in bench/scenarios/) gets a Bench object connected to a
throwaway cluster (scripts/with_cluster.sh made it; PGHOST, PGPORT, PGDATABASE
and PGUSER say where) and uses:

  bench.setup_sql("plain_events.sql")      run a file from bench/sql/
  bench.compare(case, ours, baseline, ...) run pgbench for both sides,
                                           alternately, and record a row with
                                           rates, latencies, ratio and verdict
  bench.measure(case, {name: side}, ...)   the same rounds over any number of
  bench.ratio_row(case, measured, a, b)    sides (optionally with the WAL each
                                           wrote), then a row per pair
  bench.install_message_db()               Message DB from its npm package,
                                           for the scenarios comparing with it
  bench.pgbench(...) / bench.record(...)   lower level, for scenarios that
                                           measure something other than a
                                           pgbench ratio (sequencer_lag.py,
                                           verify_all.py)
  bench.wait_for_sequencer()               until every committed event has a
                                           global position

Every pgbench run gets the same variables: :tag (unique per run, so each run
writes its own streams), :payload (the ~200-byte JSON document below), :v
(0; scripts that count per client use it) and :client_id (pgbench's own).
Scripts name their streams :tag || '-' || ...

Nothing here asserts anything: a missed target is recorded, printed and
reported, and the bench still succeeds.  Only a broken run (pgbench aborts,
SQL errors) fails.
"""
import json
import math
import os
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import psycopg2

BENCH_DIR = Path(__file__).resolve().parent
PGBENCH_DIR = BENCH_DIR / "pgbench"
SQL_DIR = BENCH_DIR / "sql"

# One realistic event body, ~200 bytes as jsonb (pg_column_size = 204).
PAYLOAD = json.dumps({
    "account": "ACC-0000012345",
    "amount": 1250.75,
    "currency": "EUR",
    "channel": "sepa-transfer",
    "reference": "INV-2026-11-000042",
    "description": "Monthly subscription payment, premium plan",
})

SECONDS = int(os.environ.get("BENCH_SECONDS", "15"))  # per side and round
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))     # runs of each side per case
# Where scripts/common.sh puts its clusters; the npm package is kept there.
WORK_ROOT = Path(os.environ.get("PG_EVENTSTORE_WORK", "/tmp/pg_eventstore"))

# Message DB (https://github.com/message-db/message-db, MIT), the PL/pgSQL
# message store the message_db and reads scenarios compare with, installed
# from its npm package at this version, never copied into the repository.
MESSAGE_DB_PACKAGE = "@eventide/message-db"
MESSAGE_DB_VERSION = "1.3.1"
# Its functions name their table and helpers without a schema, so its
# clients put message_store on the search path; the Message DB sides connect
# with these options (PGOPTIONS), which cost nothing per transaction.
MESSAGE_DB_OPTIONS = "-c search_path=message_store,public"

# Settings recorded with every result, whatever their source.
REPORTED_SETTINGS = [
    "server_version", "fsync", "synchronous_commit", "wal_sync_method",
    "full_page_writes", "wal_level", "shared_buffers", "wal_buffers",
    "max_wal_size", "checkpoint_timeout", "autovacuum", "jit",
    "track_commit_timestamp", "max_connections", "pg_eventstore.worker_naptime",
]

# Committed events the sequencer has not given a position yet, exactly, in
# one snapshot: those whose transaction is not visible in S(k-1), the snapshot
# the last committed sequencer round stored (events visible in it all have
# positions, since a round stores its snapshot and its positions atomically).
# Cheap: an index range scan on events.xid from S(k-1)'s xmin.
BACKLOG_SQL = """
SELECT count(*)
FROM eventstore.events e
WHERE e.xid >= (SELECT pg_snapshot_xmin(coalesce(last_snapshot, '1:1:'))
                FROM eventstore.sequencer_state)
  AND NOT pg_visible_in_snapshot(e.xid, (SELECT coalesce(last_snapshot, '1:1:')
                                         FROM eventstore.sequencer_state))
"""


def machine():
    """Cores and CPU model, stated with every result (figures mean little
    without them, and this machine's CPU is shared)."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cores": os.cpu_count(), "cpu": model}


def cpu_times():
    """(steal, total) jiffies from /proc/stat: time the hypervisor gave this
    VM's CPUs to someone else shows up as steal, and explains a slow run."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    return (fields[7] if len(fields) > 7 else 0), sum(fields)


def fsync_ms(directory, count=50):
    """Median time of an 8 kB write + fdatasync in DIRECTORY, in ms: what one
    WAL flush costs on this disk right now.  Every durable commit pays it, so
    the per-event rates at few clients move with it (it varies 20-fold on a
    shared VM), and the report states it next to the figures."""
    path = Path(directory) / "fsync_probe"
    block = b"\0" * 8192
    times = []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for _ in range(count):
            started = time.perf_counter()
            os.pwrite(fd, block, 0)
            os.fdatasync(fd)
            times.append((time.perf_counter() - started) * 1000)
    finally:
        os.close(fd)
        path.unlink()
    return sorted(times)[len(times) // 2]


def percentiles(values, points=(50, 95, 99)):
    """Nearest-rank percentiles of a list of numbers; {} when empty."""
    if not values:
        return {}
    ordered = sorted(values)
    result = {}
    for p in points:
        rank = max(1, math.ceil(p / 100.0 * len(ordered)))
        result[f"p{p}"] = ordered[rank - 1]
    return result


def message_db_package():
    """Message DB's database/ directory, from its npm package installed with
    npm into WORK_ROOT/message-db-VERSION (outside the repository; kept
    between runs, so npm runs once per machine)."""
    prefix = WORK_ROOT / f"message-db-{MESSAGE_DB_VERSION}"
    package = prefix / "node_modules" / "@eventide" / "message-db"
    manifest = package / "package.json"
    if not (manifest.exists() and json.loads(manifest.read_text()).get("version") == MESSAGE_DB_VERSION):
        prefix.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(["npm", "install", "--prefix", str(prefix), "--no-save", "--no-package-lock",
                                 "--no-audit", "--no-fund", "--loglevel=error",
                                 f"{MESSAGE_DB_PACKAGE}@{MESSAGE_DB_VERSION}"],
                                capture_output=True, text=True, timeout=300)
        if result.returncode != 0 or not manifest.exists():
            raise RuntimeError(f"npm install {MESSAGE_DB_PACKAGE}@{MESSAGE_DB_VERSION} failed:\n"
                               f"{result.stdout}{result.stderr}")
    return package / "database"


def message_db_install_files(database):
    """The SQL files Message DB's database/install.sh runs, in its order:
    the files it names (its functions are defined in the order it calls
    them) and, where it sources install-functions.sh and the others, theirs.
    Left out: roles/ (the message_store login role) and privileges/ (grants
    to that role)."""
    files = []

    def walk(script):
        text = (database / script).read_text()
        for match in re.finditer(r"source \$base/(\S+\.sh)|\$base/(\S+\.sql)", text):
            if match.group(1):
                walk(match.group(1))
            elif not match.group(2).startswith(("roles/", "privileges/")) and match.group(2) not in files:
                files.append(match.group(2))

    walk("install.sh")
    if not files or files[0] != "schema/message-store.sql" or "functions/write-message.sql" not in files:
        raise RuntimeError(f"unexpected Message DB install order: {files}")
    return files


class Side:
    """One side of a comparison: a pgbench script and how to count its events.

    events_per_tx: events one successful transaction writes (batch size).
    count_events:  optional fn(bench, tag) -> events the run really stored,
                   for scripts whose transactions may store nothing (a
                   conflict that was caught); overrides events_per_tx.
    defines:       extra pgbench variables (-D name=value).
    env:           extra environment for pgbench (e.g. PGOPTIONS).
    prepare:       optional fn(bench) run before each of this side's runs,
                   ahead of the run's quiesce: for sides that differ in a
                   server setting rather than a script (ALTER SYSTEM and
                   pg_reload_conf(), then wait until the worker acts on it).
    """

    def __init__(self, script, events_per_tx=1, count_events=None, defines=None, label=None, env=None,
                 prepare=None):
        self.script = script
        self.events_per_tx = events_per_tx
        self.count_events = count_events
        self.defines = defines or {}
        self.label = label or Path(script).stem
        self.env = env or {}
        self.prepare = prepare


class PgbenchResult:
    def __init__(self, tag, tps, transactions, duration, latencies_ms, lags_ms, samples, output):
        self.tag = tag
        self.tps = tps
        self.transactions = transactions
        self.duration = duration
        self.latencies_ms = latencies_ms
        self.lags_ms = lags_ms
        self.samples = samples
        self.output = output


class Bench:
    def __init__(self, scenario, title, out_path, log_dir, order=0):
        self.scenario = scenario
        self.order = order
        self.title = title
        self.failure = None
        self.out_path = Path(out_path)
        self.log_dir = Path(log_dir)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.rows = []
        self.notes = []
        self.run_count = 0
        self.conn = psycopg2.connect("")  # PGHOST, PGPORT, PGDATABASE, PGUSER
        self.conn.autocommit = True
        self.started = time.time()
        self.cpu_at_start = cpu_times()
        # The cluster's own disk when with_cluster.sh says where it is.
        self.fsync_ms = fsync_ms(os.environ.get("CLUSTER_DIR") or self.log_dir)
        self.measured_at = time.strftime("%Y-%m-%d %H:%M %Z")
        self.wait_for_worker()

    # ---- SQL helpers -------------------------------------------------------

    def sql(self, query, args=None):
        with self.conn.cursor() as cursor:
            cursor.execute(query, args)
            return cursor.fetchall() if cursor.description else None

    def value(self, query, args=None):
        return self.sql(query, args)[0][0]

    def setup_sql(self, name):
        """Runs bench/sql/NAME (idempotent setup: baseline tables, functions)."""
        self.sql((SQL_DIR / name).read_text())

    def wait_for_worker(self, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.value("SELECT coalesce(loops > 0 AND state IN ('idle', 'working'), false) "
                          "FROM eventstore.worker_status WHERE job = 'sequencer'"):
                return
            time.sleep(0.2)
        raise RuntimeError("the pg_eventstore worker did not start")

    def worker_loops(self):
        """Rounds the worker has run (it runs one per wake-up: a commit that
        appended, or its naptime)."""
        return self.value("SELECT loops FROM eventstore.worker_status WHERE job = 'sequencer'")

    def backlog(self):
        return self.value(BACKLOG_SQL)

    def wait_for_sequencer(self, timeout=120):
        """Waits until every committed event has a position; returns seconds waited."""
        start = time.time()
        while self.backlog() > 0:
            if time.time() - start > timeout:
                raise RuntimeError(f"the sequencer did not catch up within {timeout} s")
            time.sleep(0.05)
        return time.time() - start

    def quiesce(self):
        """Before a measured run: no sequencer backlog left by the previous
        run, and no dirty buffers whose writes would land in this one."""
        self.wait_for_sequencer()
        self.sql("CHECKPOINT")

    def wal_lsn(self):
        """The end of the WAL inserted so far (pg_current_wal_insert_lsn:
        unlike pg_current_wal_lsn it also counts records not yet written
        out, so nothing a run inserted is left for the next one)."""
        return self.value("SELECT pg_current_wal_insert_lsn()::text")

    def wal_bytes_since(self, lsn):
        return int(self.value("SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), %s::pg_lsn)", (lsn,)))

    # ---- Message DB ------------------------------------------------------------

    def install_message_db(self):
        """Loads Message DB into this database, in its own schema
        message_store, from the npm package (installed once into
        WORK_ROOT/message-db-VERSION with npm, kept between runs).  Runs the
        package's SQL files with psql in the order its database/install.sh
        uses, without the parts that create a database, the message_store
        login role and the grants to it (the bench connects as the cluster's
        superuser).  Idempotent: a database that has it keeps it.  Notes
        the package and schema versions in the results."""
        if not self.value("SELECT to_regproc('message_store.write_message') IS NOT NULL"):
            database = message_db_package()
            files = message_db_install_files(database)
            self.sql("DROP SCHEMA IF EXISTS message_store CASCADE")  # what a broken load left
            command = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1"]
            for name in files:
                command += ["-f", str(database / name)]
            env = dict(os.environ, PGOPTIONS=f"-c client_min_messages=warning {MESSAGE_DB_OPTIONS}")
            result = subprocess.run(command, env=env, capture_output=True, text=True)
            if result.returncode != 0:
                raise RuntimeError(f"loading Message DB failed:\n{result.stdout}{result.stderr}")
            print(f"    Message DB {MESSAGE_DB_VERSION}: loaded {len(files)} files from {database}", flush=True)
        self.note(f"Message DB: npm package {MESSAGE_DB_PACKAGE}@{MESSAGE_DB_VERSION} (schema version "
                  f"{self.value('SELECT message_store.message_store_version()')}), its database/ SQL files run "
                  f"with psql in install.sh's order without its role and grants; its clients connect with "
                  f"search_path=message_store")

    # ---- pgbench -------------------------------------------------------------

    def pgbench(self, script, clients, seconds=None, tag=None, defines=None, rate=None,
                sample=None, sample_every=0.5, env=None, transactions=None):
        """Runs bench/pgbench/SCRIPT with -c/-j CLIENTS for SECONDS, or for
        TRANSACTIONS transactions per client (pgbench -t) when given.

        Prepared statements (-M prepared) on both sides: an application
        calls append the same way, and the plain INSERT gets the same help.
        rate:   pgbench --rate (transactions/s over all clients), or None.
        sample: optional fn() called every sample_every seconds while pgbench
                runs; its values come back as result.samples [(t, value)].
        env:    extra environment variables for pgbench (PGOPTIONS).
        """
        seconds = seconds or SECONDS
        self.run_count += 1
        tag = tag or f"{self.scenario}_r{self.run_count}"
        prefix = self.log_dir / tag
        variables = {"tag": tag, "payload": PAYLOAD, "v": 0}
        variables.update(defines or {})
        length = ["-t", str(transactions)] if transactions else ["-T", str(seconds)]
        command = ["pgbench", "-n", "-M", "prepared", "-c", str(clients), "-j", str(clients),
                   *length, "-l", f"--log-prefix={prefix}",
                   "-f", str(PGBENCH_DIR / script)]
        if rate:
            command += ["--rate", str(rate)]
        for name, value in variables.items():
            command += ["-D", f"{name}={value}"]
        started = time.time()
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                   env=dict(os.environ, **(env or {})))
        samples = []
        if sample:
            next_at = started
            while process.poll() is None:
                samples.append((round(time.time() - started, 2), sample()))
                next_at += sample_every
                time.sleep(max(0.0, next_at - time.time()))
        output = process.communicate()[0]
        duration = time.time() - started
        (self.log_dir / f"{tag}.out").write_text(output)
        if process.returncode != 0 or "aborted" in output:
            raise RuntimeError(f"pgbench {script} failed (exit {process.returncode}):\n{output[-3000:]}")
        latencies, lags = self._read_logs(prefix)
        return PgbenchResult(
            tag=tag,
            tps=float(re.search(r"tps = ([\d.]+)", output).group(1)),
            transactions=int(re.search(r"actually processed: (\d+)", output).group(1)),
            duration=duration, latencies_ms=latencies, lags_ms=lags, samples=samples, output=output)

    @staticmethod
    def _read_logs(prefix):
        """Per-transaction latencies (and schedule lags with --rate) in ms."""
        latencies, lags = [], []
        for path in sorted(prefix.parent.glob(prefix.name + ".*")):
            if path.suffix == ".out":
                continue
            with open(path) as log:
                for line in log:
                    fields = line.split()
                    # client tx_no latency_us script_no epoch epoch_us [lag_us]
                    if len(fields) >= 6 and fields[2].isdigit():
                        latencies.append(int(fields[2]) / 1000.0)
                        if len(fields) >= 7 and fields[6].isdigit():
                            lags.append(int(fields[6]) / 1000.0)
            path.unlink()  # raw logs are large; the percentiles are kept
        return latencies, lags

    # ---- comparisons ---------------------------------------------------------

    def compare(self, case, ours, baseline, clients, target_ratio=None, unit="events/s", note=""):
        """Runs baseline and ours alternately, ROUNDS times each (round 1:
        baseline then ours, round 2: ours then baseline, ...: the ABBA order
        cancels a steady drift, such as a table growing), and records one row.

        The rate of a side is its mean over rounds; its latency percentiles
        pool every transaction of every round.  target_ratio: the row is met
        when ours / baseline >= target_ratio; None = report only.
        """
        measured = self.measure(case, {"baseline": baseline, "ours": ours}, clients, unit=unit)
        return self.ratio_row(case, measured, "ours", "baseline", target_ratio, unit, note)

    def measure(self, case, sides, clients, seconds=None, wal=False, unit="events/s", rounds=None):
        """Runs every side of `sides` ({name: Side}) once per round, ROUNDS
        rounds (or `rounds`), in the given order in odd rounds and in
        reverse in even ones (with two sides, the ABBA order of compare());
        each run starts quiesced.  Records nothing: ratio_row() makes rows
        from the result.

        wal: also measure the WAL each side wrote, from the insert LSN before
        the run to the one after it once the sequencer has given every event
        of the run its position, so that our side includes the sequencer's
        WAL.  Returns {name: {side, clients, rate (mean of rates), rates,
        latencies, totals, and with wal wal_per_event}}; totals has
        transactions, events, worker_loops, runs, seconds and with wal
        wal_bytes.
        """
        seconds = seconds or SECONDS
        names = list(sides)
        measured = {name: {"side": side, "rates": [], "latencies": [],
                           "totals": {"transactions": 0, "events": 0, "worker_loops": 0, "runs": 0,
                                      "seconds": seconds, **({"wal_bytes": 0} if wal else {})}}
                    for name, side in sides.items()}
        case_index = len(self.rows) + 1
        for round_number in range(1, (rounds or ROUNDS) + 1):
            for name in names if round_number % 2 else names[::-1]:
                side, stats = sides[name], measured[name]
                tag = f"{self.scenario}_{case_index}_{name}{round_number}"
                if side.prepare:
                    side.prepare(self)
                self.quiesce()
                loops_before = self.worker_loops()
                lsn_before = self.wal_lsn() if wal else None
                result = self.pgbench(side.script, clients, seconds=seconds, tag=tag, defines=side.defines,
                                      env=side.env)
                if wal:
                    self.wait_for_sequencer()
                    stats["totals"]["wal_bytes"] += self.wal_bytes_since(lsn_before)
                stats["totals"]["worker_loops"] += self.worker_loops() - loops_before
                if side.count_events:
                    events = side.count_events(self, tag)
                else:
                    events = result.transactions * side.events_per_tx
                per_tx = events / result.transactions if result.transactions else 0
                rate = result.tps * per_tx
                stats["rates"].append(rate)
                stats["latencies"].extend(result.latencies_ms)
                stats["totals"]["transactions"] += result.transactions
                stats["totals"]["events"] += events
                stats["totals"]["runs"] += 1
                print(f"    {case}: {name:8s} round {round_number}: {rate:10.1f} {unit}"
                      f" ({result.tps:.1f} tps, {result.transactions} transactions)", flush=True)
        self.quiesce()
        for stats in measured.values():
            stats["clients"] = clients
            stats["rate"] = sum(stats["rates"]) / len(stats["rates"])
            totals = stats["totals"]
            if wal and totals["events"]:
                stats["wal_per_event"] = totals["wal_bytes"] / totals["events"]
        return measured

    def ratio_row(self, case, measured, ours, baseline, target_ratio=None, unit="events/s", note="",
                  worker_note=None):
        """Records the row of side `ours` against side `baseline` of one
        measure() result (its keys).  worker_note: add the events per worker
        round to the note; by default for the side named "ours" only (the
        worker also runs, idle, while the others do), False for sides that
        append nothing."""
        mine, theirs = measured[ours], measured[baseline]
        ratio = mine["rate"] / theirs["rate"] if theirs["rate"] else None
        row = {
            "case": case, "unit": unit, "clients": mine["clients"],
            "ours": mine["rate"], "baseline": theirs["rate"], "ratio": ratio,
            "ours_label": mine["side"].label, "baseline_label": theirs["side"].label,
            "ours_runs": mine["rates"], "baseline_runs": theirs["rates"],
            "ours_latency_ms": percentiles(mine["latencies"]),
            "baseline_latency_ms": percentiles(theirs["latencies"]),
            "ours_totals": mine["totals"], "baseline_totals": theirs["totals"],
            "duration": f"{mine['totals']['runs']} x {mine['totals']['seconds']} s per side",
            "note": self.rounds_note(mine["totals"], note) if worker_note or (
                worker_note is None and ours == "ours") else note,
        }
        for key, stats in (("ours", mine), ("baseline", theirs)):
            if "wal_per_event" in stats:
                row[f"{key}_wal_per_event"] = stats["wal_per_event"]
        if target_ratio is None:
            row.update(target="report only", met=None)
        else:
            row.update(target=f"ratio >= {target_ratio:g}", met=ratio is not None and ratio >= target_ratio)
        return self.record(row)

    @staticmethod
    def rounds_note(totals, note):
        """Adds how many events one sequencer round took, on average, to a
        row's note: one round per commit is the worker's most expensive
        regime (each round is a durable transaction of its own)."""
        if not totals["worker_loops"] or not totals["events"]:
            return note
        text = f"{totals['events'] / totals['worker_loops']:.1f} events per worker round"
        return f"{note}; {text}" if note else text

    # ---- results ---------------------------------------------------------------

    def record(self, row):
        """Adds a result row.  Keys the report knows: case, unit, clients,
        ours, baseline, ratio (None when there is no baseline), target, met
        (True/False/None = report only), ours_latency_ms /
        baseline_latency_ms ({p50, p95, p99}), duration, note."""
        row.setdefault("scenario", self.scenario)
        ours, baseline, ratio = row.get("ours"), row.get("baseline"), row.get("ratio")
        print(f"    -> {row['case']}: ours {'-' if ours is None else f'{ours:,.2f}'}"
              f" baseline {'-' if baseline is None else f'{baseline:,.2f}'} {row.get('unit', '')},"
              f" ratio {'-' if ratio is None else f'{ratio:.2f}x'}, target {row.get('target')}:"
              f" {({True: 'met', False: 'NOT MET'}).get(row.get('met'), 'report only')}", flush=True)
        self.rows.append(row)
        self.save()
        return row

    def note(self, text):
        self.notes.append(text)
        self.save()

    def settings(self):
        try:
            rows = self.sql("SELECT name, current_setting(name) FROM pg_settings WHERE name = ANY(%s)",
                            (REPORTED_SETTINGS,))
        except psycopg2.Error:  # saving a failure must not fail too
            return {}
        found = dict(rows)
        return {name: found[name] for name in REPORTED_SETTINGS if name in found}

    def cpu_steal(self):
        """Share of CPU time stolen by the hypervisor since this scenario began."""
        steal, total = cpu_times()
        start_steal, start_total = self.cpu_at_start
        return (steal - start_steal) / (total - start_total) if total > start_total else None

    def save(self):
        document = {
            "scenario": self.scenario, "title": self.title, "order": self.order, "failure": self.failure,
            "measured_at": self.measured_at, "machine": machine(),
            "seconds": SECONDS, "rounds": ROUNDS,
            "cpu_steal": self.cpu_steal(), "fsync_ms": self.fsync_ms,
            "elapsed_s": round(time.time() - self.started, 1),
            "settings": self.settings(),
            "rows": self.rows, "notes": self.notes,
        }
        tmp = self.out_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(document, indent=2))
        shutil.move(str(tmp), str(self.out_path))


class PositionSampler(threading.Thread):
    """Samples (server clock, a position) every `every` seconds on its own
    connection, for commit-to-X latencies: an event counts as reached at
    the first sample whose position covers it (at most `every` late)."""

    def __init__(self, query, every=0.005):
        super().__init__(daemon=True)
        self.query = query  # returns one bigint: the position
        self.every = every
        self.samples = []
        self.halt = threading.Event()

    def run(self):
        connection = psycopg2.connect("")
        connection.autocommit = True
        with connection.cursor() as cursor:
            while not self.halt.is_set():
                cursor.execute(f"SELECT extract(epoch FROM clock_timestamp()), ({self.query})")
                at, position = cursor.fetchone()
                self.samples.append((float(at), position or 0))
                time.sleep(self.every)
        connection.close()

    def reached_at(self, positions):
        """position -> first sampled time at which it was covered."""
        result, index = {}, 0
        for position in sorted(positions):
            while index < len(self.samples) and self.samples[index][1] < position:
                index += 1
            if index < len(self.samples):
                result[position] = self.samples[index][0]
        return result
