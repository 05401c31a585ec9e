"""append_single — eventstore.append, one event per transaction, against a
plain INSERT of the same row into a table with the same indexes.

Each client appends to its own stream, so clients never wait for each other:
what is measured is the work of the append path itself (stream row lock and
head update, hash chain, idempotency lookup, the log's triggers) against what
PostgreSQL needs to store the row.  1 client shows the per-call cost, 8
clients (on a 2-core machine, 4 per core) how it holds up under contention
for CPU.
"""
from benchlib import Side

TITLE = "eventstore.append (1 event/transaction) vs plain INSERT of the same row"
ORDER = 10
TARGET_RATIO = 0.85


def run(bench):
    bench.setup_sql("plain_events.sql")
    ours = Side("append_single.sql")
    baseline = Side("plain_single.sql")
    for clients in (1, 8):
        bench.compare(f"append, {clients} client{'s' if clients > 1 else ''}", ours, baseline, clients,
                      target_ratio=TARGET_RATIO)
