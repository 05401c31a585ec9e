"""budget.py — the per-event budget of the append path and the sequencer:
CPU per event by process, WAL bytes per event by relation and record
type, and (when perf is installed) a split of the appending backend's and
the sequencer's CPU by component.  docs/performance.md explains the table
it feeds; run it after any change to the append path or the sequencer.

    CLUSTER_CONF="shared_buffers=512MB max_wal_size=8GB min_wal_size=1GB checkpoint_timeout=30min" \\
        scripts/with_cluster.sh budget /usr/bin/python3 bench/budget.py [OUT.json]

(as root, like scripts/bench.sh: pg_waldump reads the cluster's pg_wal and
perf attaches to its processes).  BENCH_SECONDS (15) and BENCH_ROUNDS (2)
apply as in the bench; OUT defaults to bench/results/logs/budget.json.

What it runs: pgbench -M prepared of bench/pgbench/append_single.sql
(ours) and plain_single.sql (the plain INSERT), at 1 and at 8 clients,
ROUNDS rounds in ABBA order, each run after the sequencer's backlog is
drained and a CHECKPOINT (so each run pays the full-page images of the
pages it touches first, as after any checkpoint).  Autovacuum is switched
off for the budget's cluster: it would land in one run and not another.

CPU, from /proc (utime + stime, 10 ms ticks), over each run until the
sequencer has positioned all of its events:
  * the appending backends: the postmaster's cutime + cstime, which grow by
    each backend's CPU when it exits and is reaped (pgbench's backends are
    the only ones that end during a run: autovacuum is off, and this
    script's own connection stays open);
  * the sequencer, projector, publisher and launcher, the WAL writer,
    checkpointer and background writer: their own counters;
  * pgbench itself (RUSAGE_CHILDREN of this script).
Divided by the events the run stored.

WAL, from pg_waldump over [insert LSN before, insert LSN after] of each
run: every record's total length (full-page images included, counted
apart too) by the relation of its first block reference, grouped into the
components below; commit records by what their transaction wrote (an
append, a sequencer round, the anchoring step); what pg_waldump does not
show (record alignment, page headers) as the difference to the LSN span.

perf (one run of 8 s per side and client count, perf record -F 499
--call-graph dwarf on the pgbench backends and the sequencer from 1.5 s
to 6.5 s): each sample goes to the component of the first marker of an
ordered list (*_COMPONENTS below, the most specific first) that any frame
of its stack contains; the shares are turned into microseconds with the
CPU per event measured without perf.  Coarse: the markers are function
names, static functions of the postgres binary have none, and what a
component does inside PostgreSQL (its WAL insert, a buffer lock) counts
to it.
"""
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib  # noqa: E402
from benchlib import PAYLOAD, PGBENCH_DIR, ROUNDS, SECONDS  # noqa: E402

CLIENTS = (1, 8)
SIDES = {"plain": "plain_single.sql", "ours": "append_single.sql"}
TICK = os.sysconf("SC_CLK_TCK")
PG_BINDIR = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True).stdout.strip() or \
    "/usr/lib/postgresql/15/bin"
PERF_SECONDS = 8
PERF_FROM, PERF_FOR = 1.5, 5

# ---- CPU -------------------------------------------------------------------


def proc_times(pid):
    """(utime + stime, cutime + cstime) of a process, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK, (int(fields[13]) + int(fields[14])) / TICK


def server_processes(bench):
    """{role: pid} of the processes whose CPU is counted apart."""
    postmaster = int(Path(os.environ["CLUSTER_DIR"], "data", "postmaster.pid").read_text().split()[0])
    roles = {"appending backends (reaped by the postmaster)": postmaster}
    for job, pid in bench.sql("SELECT job, pid FROM eventstore.worker_status WHERE pid IS NOT NULL"):
        roles[f"worker: {job}"] = pid
    for kind, pid in bench.sql("SELECT backend_type, pid FROM pg_stat_activity WHERE backend_type IN "
                               "('walwriter', 'checkpointer', 'background writer')"):
        roles[kind] = pid
    return roles


def cpu_snapshot(roles):
    snapshot = {}
    for role, pid in roles.items():
        own, children = proc_times(pid)
        snapshot[role] = children if role.startswith("appending backends") else own
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    snapshot["pgbench (the client)"] = usage.ru_utime + usage.ru_stime
    return snapshot


# ---- WAL -------------------------------------------------------------------

RECORD = re.compile(r"rmgr: (\S+)\s+len \(rec/tot\):\s*(\d+)/\s*(\d+), tx:\s*(\d+), lsn: \S+, prev \S+, "
                    r"desc: (\S+)(.*)")
BLOCK = re.compile(r"blkref #\d+: rel (\d+)/(\d+)/(\d+)")


def component_of(schema, name, kind):
    """The budget line a relation's WAL goes to."""
    if kind == "S":
        return "sequence (insert_seq)"
    table = {"events": "events: heap", "plain_events": "events: heap",
             "events_pkey": "events: primary key (stream_id, stream_version)",
             "plain_events_pkey": "events: primary key (stream_id, stream_version)",
             "events_event_id_key": "events: event_id unique index",
             "plain_events_event_id_key": "events: event_id unique index",
             "events_xid_idx": "events: xid index", "plain_events_xid_idx": "events: xid index",
             "streams": "streams: head update", "streams_pkey": "streams: head update",
             "log_positions": "log_positions: heap",
             "log_positions_pkey": "log_positions: 3 indexes", "log_positions_event_key": "log_positions: 3 indexes",
             "log_positions_category_idx": "log_positions: 3 indexes",
             "sequencer_state": "sequencer_state"}
    if name in table:
        return table[name]
    if name.startswith(("merkle_blocks", "checkpoints")):
        return "anchoring (merkle_blocks, checkpoints)"
    return f"other: {schema}.{name}"


def transaction_kind(component):
    if component.startswith(("events", "streams", "sequence")):
        return "append"
    if component.startswith(("log_positions", "sequencer_state")):
        return "sequencer round"
    if component.startswith("anchoring"):
        return "anchoring"
    return "other"


def relation_names(bench):
    return {int(node): component_of(schema, name, kind) for node, schema, name, kind in bench.sql(
        "SELECT pg_relation_filenode(c.oid), n.nspname, c.relname, c.relkind FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE pg_relation_filenode(c.oid) IS NOT NULL AND n.nspname IN ('eventstore', 'bench', 'pg_toast')")}


def wal_breakdown(bench, start, end, names):
    """{component: [records, bytes, full-page image bytes]} between two LSNs."""
    wal_dir = Path(os.environ["CLUSTER_DIR"], "data", "pg_wal")
    process = subprocess.Popen([f"{PG_BINDIR}/pg_waldump", "-p", str(wal_dir), "-s", start, "-e", end],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    groups = defaultdict(lambda: [0, 0, 0])
    xid_kind = {}
    commits = defaultdict(lambda: [0, 0, 0])
    for line in process.stdout:
        match = RECORD.match(line)
        if not match:
            continue
        rmgr, rec, tot, xid, op, rest = match.groups()
        rec, tot, xid = int(rec), int(tot), int(xid)
        block = BLOCK.search(rest)
        if block:
            component = names.get(int(block.group(3)), "other: catalog and other relations")
            xid_kind.setdefault(xid, transaction_kind(component))
        elif rmgr == "Transaction" and op.startswith("COMMIT"):
            commits[xid] = [1, tot, 0]
            continue
        else:
            component = f"other: {rmgr} {op}"
        entry = groups[component]
        entry[0] += 1
        entry[1] += tot
        entry[2] += tot - rec
    process.wait()
    if process.returncode not in (0, 1):  # 1: it reached the end of the WAL written so far
        raise RuntimeError(f"pg_waldump failed: {process.stderr.read()}")
    for xid, (count, size, _) in commits.items():
        entry = groups[f"commit records: {xid_kind.get(xid, 'other')}"]
        entry[0] += count
        entry[1] += size
    span = int(bench.value("SELECT pg_wal_lsn_diff(%s::pg_lsn, %s::pg_lsn)", (end, start)))
    groups["record alignment and page headers"] = [0, span - sum(v[1] for v in groups.values()), 0]
    return dict(groups)


# ---- one measured run --------------------------------------------------------


def measured_run(bench, side, clients, tag, names):
    bench.quiesce()
    roles = server_processes(bench)
    loops_before = bench.worker_loops()
    before = cpu_snapshot(roles)
    start = bench.wal_lsn()
    result = bench.pgbench(SIDES[side], clients, tag=tag)
    bench.wait_for_sequencer()
    deadline = time.time() + 10  # until the postmaster has reaped every pgbench backend
    while bench.value("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgbench'") and \
            time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)
    after = cpu_snapshot(roles)
    end = bench.wal_lsn()
    events = result.transactions
    cpu = {role: (after[role] - before[role]) / events * 1e6 for role in after}
    wal = {k: [v[0] / events, v[1] / events, v[2] / events]
           for k, v in wal_breakdown(bench, start, end, names).items()}
    rounds = bench.worker_loops() - loops_before
    print(f"    {side:5s} {clients} client(s) {tag}: {result.tps:8.0f} events/s, CPU "
          f"{sum(cpu.values()):6.1f} us/event (backends {cpu[next(iter(cpu))]:.1f}), WAL "
          f"{sum(v[1] for v in wal.values()):6.0f} bytes/event", flush=True)
    return {"side": side, "clients": clients, "events": events, "rate": result.tps, "cpu_us": cpu,
            "wal": wal, "sequencer_rounds": rounds}


# ---- perf ------------------------------------------------------------------

# (marker, component): the first marker found walking a stack from its
# outermost frame inwards names the component; a component whose name ends
# in ":" is split further by the markers in its own list.
BACKEND_COMPONENTS = [
    ("on_transaction_end", "sequencer doorbell (SetLatch at commit)"),
    ("CommitTransactionCommand", "commit (WAL insert and flush, releasing locks)"),
    ("StartTransactionCommand", "transaction start"),
    ("eventstore_append", "append:"),
    ("fmgr_security_definer", "SECURITY DEFINER / SET search_path switch"),
    ("heap_insert", "events: heap insert (and its WAL)"),
    ("ExecInsertIndexTuples", "events: 3 index inserts (and their WAL)"),
    ("InputFunctionCall", "bind: parameter input (jsonb_in of the payload)"),
    ("GetCachedPlan", "plan cache check"),
    ("gen_random_uuid", "event id (random)"),
    ("nextval", "insert_seq (nextval)"),
    ("ExecInterpExpr", "expressions (the plain INSERT's values; the call of append)"),
    ("Portal", "executor and portal (start, run, end)"),
    ("Executor", "executor and portal (start, run, end)"),
    ("pq_", "protocol, socket I/O"),
    ("secure_", "protocol, socket I/O"),
    ("ReadCommand", "protocol, socket I/O"),
    ("PostgresMain", "backend main loop, other"),
]
APPEND_COMPONENTS = [
    ("move_stream_head", "head update (UPDATE of the streams row, its WAL)"),
    ("create_stream", "head read (streams index scan)"),
    ("stream_head", "head read (streams index scan)"),
    ("JsonbToCString", "hash chain: jsonb text form"),
    ("jsonb_text", "hash chain: jsonb text form"),
    ("sha256", "hash chain: SHA-256"),
    ("SHA256", "hash chain: SHA-256"),
    ("EVP_Digest", "hash chain: SHA-256"),
    ("seal_events", "hash chain: canonical encoding"),
    ("hash_event", "hash chain: canonical encoding"),
    ("nextval", "insert_seq (nextval)"),
    ("heap_insert", "events: heap insert (and its WAL)"),
    ("ExecInsertIndexTuples", "events: 3 index inserts (and their WAL)"),
    ("insert_event_rows", "events: open/close relations, form the row"),
    ("insert_events", "events: open/close relations, form the row"),
    ("already_stored", "idempotency lookup"),
    ("judge_event_times", "period check"),
    ("SPI_connect", "SPI connect/finish"),
    ("SPI_finish", "SPI connect/finish"),
    ("generate_event_id", "event id (random)"),
    ("pg_strong_random", "event id (random)"),
    ("wake_worker_at_commit", "sequencer doorbell"),
    ("push_head_snapshot", "snapshots"),
    ("PopActiveSnapshot", "snapshots"),
    ("", "append: arguments, checks, the rest"),
]
SEQUENCER_COMPONENTS = [
    ("CommitTransactionCommand", "commit (WAL flush)"),
    ("StartTransactionCommand", "transaction start"),
    ("hash_ledger_entry", "ledger hash"),
    ("ExecInsertIndexTuples", "positions: 3 index inserts"),
    ("heap_insert", "positions: log_positions heap insert"),
    ("heap_update", "sequencer_state update"),
    ("PortalRunFetch", "delta query: events by xid, snapshot checks, NOT EXISTS probe"),
    ("SPI_cursor", "delta query: events by xid, snapshot checks, NOT EXISTS probe"),
    ("array_of", "positions: arrays, unnest, executor"),
    ("SPI_execute_plan", "positions: arrays, unnest, executor"),
    ("__GI_kill", "waking the publisher, projector and waiters"),
    ("SetLatch", "waking the publisher, projector and waiters"),
    ("ConditionVariableBroadcast", "waking the publisher, projector and waiters"),
    ("sequencing_round", "round, other (lock, snapshots, gathering window)"),
    ("", "job loop, latch, status"),
]
SPLITS = {"append:": APPEND_COMPONENTS}


def classify(frames, components):
    """frames: outermost first, as 'ip symbol'.  The first marker of the
    list found anywhere in the stack names the component (markers come
    from the most specific to the least); a component ending in ":" is
    split by its own list over the frames inside the one that matched; an
    empty marker is the fallback."""
    for marker, component in components:
        if not marker:
            return component
        for index, frame in enumerate(frames):
            if marker in frame:
                if component in SPLITS:
                    return classify(frames[index + 1:], SPLITS[component])
                return component
    return "kernel, other" if frames and frames[-1].startswith("ffffffff") else "other"


def perf_split(bench, side, clients, tag, work_dir):
    """{role: {component: share}} from one perf run."""
    command = ["pgbench", "-n", "-M", "prepared", "-c", str(clients), "-j", str(clients), "-T", str(PERF_SECONDS),
               "-f", str(PGBENCH_DIR / SIDES[side]), "-D", f"tag={tag}", "-D", f"payload={PAYLOAD}", "-D", "v=0"]
    bench.quiesce()
    pgbench = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    time.sleep(PERF_FROM)
    backends = [pid for (pid,) in bench.sql("SELECT pid FROM pg_stat_activity WHERE application_name = 'pgbench'")]
    sequencer = bench.value("SELECT pid FROM eventstore.worker_status WHERE job = 'sequencer'")
    data = Path(work_dir) / f"{tag}.perf"
    subprocess.run(["perf", "record", "-q", "-F", "499", "--call-graph", "dwarf,16384", "-o", str(data),
                    "-p", ",".join(str(p) for p in backends + [sequencer]), "--", "sleep", str(PERF_FOR)],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pgbench.wait()
    script = subprocess.run(["perf", "script", "-i", str(data), "-F", "pid,ip,sym"], capture_output=True,
                            text=True)
    data.unlink()
    counts = {"backend": defaultdict(int), "sequencer": defaultdict(int)}
    for sample in script.stdout.split("\n\n"):
        lines = [line.strip() for line in sample.strip().splitlines()]
        if not lines:
            continue
        try:
            pid = int(lines[0].split()[0])
        except ValueError:
            continue
        frames = lines[1:][::-1]
        if pid == sequencer:
            counts["sequencer"][classify(frames, SEQUENCER_COMPONENTS)] += 1
        elif pid in backends:
            counts["backend"][classify(frames, BACKEND_COMPONENTS)] += 1
    shares = {}
    for role, table in counts.items():
        total = sum(table.values())
        shares[role] = {"samples": total, "shares": {k: v / total for k, v in table.items()} if total else {}}
    print(f"    perf {side} {clients} client(s): {shares['backend']['samples']} backend samples, "
          f"{shares['sequencer']['samples']} sequencer samples", flush=True)
    return shares


# ---- report ------------------------------------------------------------------


def mean_and_spread(values):
    mean = sum(values) / len(values)
    return mean, (max(values) - min(values)) / 2


def summarize(runs):
    """{(side, clients): {cpu: {role: (mean, ±)}, wal: {component: (records, bytes ±, fpi)}, rate}}."""
    summary = {}
    for side in SIDES:
        for clients in CLIENTS:
            mine = [r for r in runs if r["side"] == side and r["clients"] == clients]
            if not mine:
                continue
            cpu = {role: mean_and_spread([r["cpu_us"][role] for r in mine]) for role in mine[0]["cpu_us"]}
            components = sorted({k for r in mine for k in r["wal"]})
            wal = {}
            for component in components:
                rows = [r["wal"].get(component, [0, 0, 0]) for r in mine]
                wal[component] = (sum(r[0] for r in rows) / len(rows), mean_and_spread([r[1] for r in rows]),
                                  sum(r[2] for r in rows) / len(rows))
            summary[f"{side}, {clients}"] = {
                "rate": mean_and_spread([r["rate"] for r in mine]), "cpu_us": cpu, "wal": wal,
                "events_per_sequencer_round": sum(r["events"] for r in mine) / max(
                    1, sum(r["sequencer_rounds"] for r in mine)),
                "runs": len(mine)}
    return summary


def print_summary(summary, perf):
    for key, entry in summary.items():
        print(f"\n{key} client(s): {entry['rate'][0]:,.0f} ± {entry['rate'][1]:,.0f} events/s, "
              f"{entry['events_per_sequencer_round']:.1f} events per sequencer round")
        print("  CPU, us/event:")
        for role, (mean, spread) in entry["cpu_us"].items():
            if mean >= 0.05:
                print(f"    {role:52s} {mean:7.1f} ± {spread:.1f}")
        print(f"    {'total':52s} {sum(m for m, _ in entry['cpu_us'].values()):7.1f}")
        print("  WAL, bytes/event (records/event, of which full-page images):")
        for component, (records, (size, spread), fpi) in sorted(entry["wal"].items(), key=lambda kv: -kv[1][1][0]):
            if size >= 0.5:
                print(f"    {component:52s} {size:7.1f} ± {spread:5.1f}  ({records:.2f} rec, FPI {fpi:.1f})")
        print(f"    {'total':52s} {sum(v[1][0] for v in entry['wal'].values()):7.1f}")
        for role, split in (perf.get(key) or {}).items():
            print(f"  perf, {role} ({split['samples']} samples):")
            for component, share in sorted(split["shares"].items(), key=lambda kv: -kv[1]):
                print(f"    {component:60s} {share:6.1%}")


def main(argv):
    out = Path(argv[0]) if argv else Path(__file__).resolve().parent / "results" / "logs" / "budget.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    log_dir = out.parent / "budget"
    bench = benchlib.Bench("budget", "per-event budget", out.with_suffix(".bench.json"), log_dir)
    bench.setup_sql("plain_events.sql")
    bench.sql("ALTER SYSTEM SET autovacuum = off")
    bench.sql("SELECT pg_reload_conf()")
    names = relation_names(bench)
    runs = []
    for clients in CLIENTS:
        for round_number in range(1, ROUNDS + 1):
            for side in list(SIDES) if round_number % 2 else list(SIDES)[::-1]:
                runs.append(measured_run(bench, side, clients, f"budget_{side}{clients}_{round_number}", names))
    summary = summarize(runs)
    perf = {}
    if shutil.which("perf"):
        with tempfile.TemporaryDirectory() as work_dir:
            for clients in CLIENTS:
                for side in SIDES:
                    perf[f"{side}, {clients}"] = perf_split(bench, side, clients, f"budget_perf_{side}{clients}",
                                                            work_dir)
    document = {"measured_at": bench.measured_at, "machine": benchlib.machine(), "seconds": SECONDS,
                "rounds": ROUNDS, "fsync_ms": bench.fsync_ms, "cpu_steal": bench.cpu_steal(),
                "settings": bench.settings(), "runs": runs, "summary": summary, "perf": perf}
    out.write_text(json.dumps(document, indent=1))
    print_summary(summary, perf)
    print(f"\nfsync {bench.fsync_ms:.2f} ms, CPU steal {bench.cpu_steal() or 0:.1%}; written to {out}")


if __name__ == "__main__":
    main(sys.argv[1:])
