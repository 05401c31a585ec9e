"""append_batch — eventstore.append_batch of 100 events per call against one
plain INSERT ... SELECT of the same 100 rows, 4 clients, each to its own
stream.  The per-call costs (stream lock, SPI setup) are spread over 100
events, so this is where the per-event costs (hashing, jsonb text form for
the hash, array building) show.
"""
from benchlib import Side

TITLE = "eventstore.append_batch of 100 events vs a plain 100-row INSERT"
ORDER = 20
BATCH = 100
CLIENTS = 4
TARGET_RATIO = 0.8


def run(bench):
    bench.setup_sql("plain_events.sql")
    defines = {"batch": BATCH}
    ours = Side("append_batch.sql", events_per_tx=BATCH, defines=defines)
    baseline = Side("plain_batch.sql", events_per_tx=BATCH, defines=defines)
    bench.compare(f"append_batch of {BATCH}, {CLIENTS} clients", ours, baseline, CLIENTS,
                  target_ratio=TARGET_RATIO)
