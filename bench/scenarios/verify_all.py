"""verify_all — eventstore.verify_all() throughput against the raw SHA-256
speed of this machine: `openssl dgst -sha256` over the very bytes verify_all
hashes (every stream-chain step and every ledger step, rebuilt by
bench/sql/hash_input.sql and checked against the stored hashes), exported
to a file.

The two sides do not do the same amount of work around the hashing, and
that is the point: openssl is the ceiling (one long message, no I/O beyond
the page cache), verify_all reads the log through SQL, recomputes one short
message per event and per position, and compares.  The ratio says how much
of the machine's hashing speed the verifier achieves.  Each side runs three
times after a warm-up and reports its median, so a burst of other load on the
shared CPU moves neither side much.
"""
import statistics
import subprocess
import time

from benchlib import PAYLOAD

TITLE = "eventstore.verify_all() throughput vs openssl dgst -sha256 over the same bytes"
ORDER = 70
STREAMS = 2000
EVENTS_PER_STREAM = 100
REPEATS = 3

LOAD_SQL = """
SELECT count(eventstore.append_batch('verify-' || s,
           ARRAY(SELECT ROW(NULL, 'Deposited', %s::jsonb, NULL, NULL, NULL)::eventstore.new_event
                 FROM generate_series(1, %s))))
FROM generate_series(1, %s) AS s
"""


def timed(action):
    """Median wall time of REPEATS runs of action(), after one warm-up run."""
    action()
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def export(bench, path):
    """Writes every hash input to PATH, raw bytes back to back; returns the
    byte count.  A named (server-side) cursor streams the rows."""
    with bench.conn.cursor(name="hash_inputs") as cursor, open(path, "wb") as out:
        cursor.itersize = 10000
        bench.conn.autocommit = False
        cursor.execute("SELECT input FROM bench.hash_inputs")
        total = 0
        for (value,) in cursor:
            out.write(value)
            total += len(value)
    bench.conn.rollback()
    bench.conn.autocommit = True
    return total


def run(bench):
    events = STREAMS * EVENTS_PER_STREAM
    started = time.time()
    bench.sql(LOAD_SQL, (PAYLOAD, EVENTS_PER_STREAM, STREAMS))
    bench.wait_for_sequencer()
    bench.sql("VACUUM ANALYZE")  # hint bits and statistics, so no run pays for them
    print(f"    loaded {events:,} events in {time.time() - started:.1f} s", flush=True)

    bench.setup_sql("hash_input.sql")
    inputs, input_bytes, all_match = bench.sql(
        "SELECT count(*), sum(length(input)), bool_and(sha256(input) = expected) FROM bench.hash_inputs")[0]
    if not all_match:
        raise RuntimeError("bench/sql/hash_input.sql does not reproduce the stored hashes")

    def verify():
        rows = bench.sql("SELECT ok, detail FROM eventstore.verify_all()")
        if not all(ok for ok, _ in rows):
            raise RuntimeError(f"verify_all found a problem: {rows[:3]}")

    verify_s = timed(verify)

    path = bench.log_dir / "hash_inputs.bin"
    exported = export(bench, path)
    if exported != input_bytes:
        raise RuntimeError(f"exported {exported} bytes, expected {input_bytes}")
    openssl_s = timed(lambda: subprocess.run(["openssl", "dgst", "-sha256", str(path)], check=True,
                                             stdout=subprocess.DEVNULL))
    path.unlink()

    megabytes = input_bytes / 1e6
    ours, baseline = megabytes / verify_s, megabytes / openssl_s
    bench.record({
        "case": f"verify_all over {events:,} events ({STREAMS:,} streams)",
        "unit": "MB/s", "ours": ours, "baseline": baseline, "ratio": ours / baseline,
        "ours_label": "eventstore.verify_all()", "baseline_label": "openssl dgst -sha256",
        "target": "report only", "met": None,
        "duration": f"median of {REPEATS}: verify_all {verify_s:.2f} s, openssl {openssl_s:.3f} s",
        "note": (f"{inputs:,} hash inputs, {megabytes:.1f} MB; verify_all {inputs / verify_s:,.0f} "
                 f"hashes/s ({events / verify_s:,.0f} events/s), openssl "
                 f"{inputs / openssl_s:,.0f} hash inputs' worth/s"),
    })
