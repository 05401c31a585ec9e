"""diy_store — eventstore.append against a hand-written PL/pgSQL event store
(bench/sql/diy_event_store.sql: stream row lock, pgcrypto SHA-256 hash
chain, outbox row), the do-it-yourself alternative.  Same payload, 8
clients, each to its own stream.  Ours does the same durable work in C and
leaves the ordering for consumers to the worker, so it should win clearly.
"""
from benchlib import Side

TITLE = "eventstore.append vs a do-it-yourself PL/pgSQL event store (pgcrypto hash chain, outbox)"
ORDER = 40
CLIENTS = 8
TARGET_RATIO = 1.2  # "clearly": at least a fifth faster


def run(bench):
    bench.setup_sql("diy_event_store.sql")
    bench.compare(f"append vs DIY PL/pgSQL, {CLIENTS} clients", Side("append_single.sql"),
                  Side("diy_append.sql"), CLIENTS, target_ratio=TARGET_RATIO)
