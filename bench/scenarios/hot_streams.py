"""hot_streams — optimistic concurrency on a few hot streams: 8 clients,
10 streams, each transaction reads a stream's version and appends expecting
it (bench/pgbench/append_expected.sql), against the same plain INSERT into
those streams.

Our rate counts the events actually stored; an append that lost the race
(ES001) is a conflict, caught in the bench schema's wrapper and counted from
the difference between attempts and stored events.  The plain INSERT has no
concurrency check, so it never conflicts: the ratio shows what correctness
under contention costs, and there is no target for it.
"""
from benchlib import Side

TITLE = "append with expected_version on 10 hot streams, 8 clients, vs plain INSERT; conflict rate"
ORDER = 30
STREAMS = 10
CLIENTS = 8


def stored_events(bench, tag):
    return bench.value("SELECT count(*) FROM eventstore.events WHERE starts_with(stream_id, %s)",
                       (tag + "-",))


def run(bench):
    bench.setup_sql("plain_events.sql")
    bench.setup_sql("hot_streams.sql")
    defines = {"streams": STREAMS}
    ours = Side("append_expected.sql", count_events=stored_events, defines=defines)
    baseline = Side("plain_hot.sql", defines=defines)
    row = bench.compare(f"expected_version, {STREAMS} hot streams, {CLIENTS} clients", ours, baseline,
                        CLIENTS, target_ratio=None)
    attempts = row["ours_totals"]["transactions"]
    stored = row["ours_totals"]["events"]
    row["conflict_rate"] = (attempts - stored) / attempts if attempts else None
    row["note"] = (f"conflict rate {row['conflict_rate']:.1%} (ES001: {attempts - stored} of {attempts} "
                   f"attempts); ours counts stored events, each attempt is a version read plus an append; "
                   + row["note"])
    bench.save()
