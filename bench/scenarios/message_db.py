"""message_db — appends against the plain INSERT and against Message DB
(https://github.com/message-db/message-db), the PL/pgSQL message store,
installed from its npm package (benchlib.install_message_db), with the WAL
each side writes per event.

Three sides in the same rounds (order plain, ours, Message DB, then the
reverse: each side's mean place in the sequence is the same), each run on a
quiesced cluster, pgbench -M prepared, synchronous_commit on:

  * one event per transaction at 1 and at 8 clients: eventstore.append
    (append_single.sql), the plain INSERT (plain_single.sql) and
    message_store.write_message(id, stream, type, data)
    (message_db_single.sql);
  * 100 events per transaction at 4 clients: append_batch, one 100-row
    INSERT ... SELECT, and 100 write_message calls in one statement
    (message_db_batch.sql; Message DB has no batch write).

Each client writes to a stream of its own.  write_message serializes the
writers of a category with a transaction advisory lock on a hash of the
category name, so each Message DB client also has a category of its own:
its best case (writers sharing a category queue one behind the other).

Rows per case: ours / plain, Message DB / plain, ours / Message DB, and the
WAL bytes per event of every side: pg_current_wal_insert_lsn() before a run
and after it, once the sequencer has given every event of the run its
position, so that ours includes the sequencer's WAL; divided by the events
the run stored.  Each run begins after a CHECKPOINT, so every side pays the
full-page images of the index pages it touches first (the random UUID
indexes most), as it would after any checkpoint.

Three sides take half as long again as two, so each run lasts 2/3 of
BENCH_SECONDS (10 s by default) to keep the scenario near 4 minutes.
"""
from benchlib import MESSAGE_DB_OPTIONS, SECONDS, Side

TITLE = "append / append_batch vs plain INSERT vs Message DB write_message, and WAL per event"
ORDER = 15
BATCH = 100
RUN_SECONDS = max(3, SECONDS * 2 // 3)
TARGET_WAL_RATIO = 1.3  # ours' WAL per event at most 1.3x the plain INSERT's
MESSAGE_DB_ENV = {"PGOPTIONS": MESSAGE_DB_OPTIONS}

# (case, clients, events per transaction, target ours/plain, target ours/Message DB)
CASES = [
    ("append, 1 client", 1, 1, 0.85, 1.3),
    ("append, 8 clients", 8, 1, 0.85, 1.3),
    (f"append_batch of {BATCH}, 4 clients", 4, BATCH, 0.9, None),
]


def sides(batch):
    if batch == 1:
        return {
            "plain": Side("plain_single.sql", label="plain INSERT"),
            "ours": Side("append_single.sql", label="eventstore.append"),
            "message_db": Side("message_db_single.sql", label="Message DB write_message", env=MESSAGE_DB_ENV),
        }
    defines = {"batch": batch}
    return {
        "plain": Side("plain_batch.sql", events_per_tx=batch, defines=defines, label=f"plain {batch}-row INSERT"),
        "ours": Side("append_batch.sql", events_per_tx=batch, defines=defines, label="eventstore.append_batch"),
        "message_db": Side("message_db_batch.sql", events_per_tx=batch, defines=defines,
                           label=f"Message DB {batch} x write_message", env=MESSAGE_DB_ENV),
    }


def check_message_db(bench, measured):
    """The runs stored what they claim: as many messages as counted, each
    stream's positions 0, 1, 2 ... without a gap (write_message read its
    stream's version correctly, also within one batch statement)."""
    stored, broken = bench.sql(
        "SELECT count(*), count(*) FILTER (WHERE NOT ok) FROM ("
        "  SELECT count(*) = max(position) + 1 AND min(position) = 0 AS ok, count(*) AS n"
        "  FROM message_store.messages GROUP BY stream_name) s")[0]
    total = bench.value("SELECT count(*) FROM message_store.messages")
    expected = sum(m["message_db"]["totals"]["events"] for m in measured)
    if broken or total != expected:
        raise RuntimeError(f"Message DB stored {total} messages in {stored} streams, {broken} with gaps; "
                           f"the runs counted {expected}")


def run(bench):
    bench.setup_sql("plain_events.sql")
    bench.install_message_db()
    measured = []
    for case, clients, batch, target_plain, target_message_db in CASES:
        result = bench.measure(case, sides(batch), clients, seconds=RUN_SECONDS, wal=True)
        measured.append(result)
        bench.ratio_row(f"{case}: ours vs plain INSERT", result, "ours", "plain", target_plain)
        bench.ratio_row(f"{case}: Message DB vs plain INSERT", result, "message_db", "plain")
        bench.ratio_row(f"{case}: ours vs Message DB", result, "ours", "message_db", target_message_db)
        wal = {name: side["wal_per_event"] for name, side in result.items()}
        ratio = wal["ours"] / wal["plain"]
        bench.record({
            "case": f"{case}: WAL per event, ours vs plain INSERT", "unit": "bytes/event", "clients": clients,
            "ours": wal["ours"], "baseline": wal["plain"], "ratio": ratio,
            "ours_label": "eventstore (with the sequencer's WAL)", "baseline_label": "plain INSERT",
            "message_db_wal_per_event": wal["message_db"],
            "target": f"ratio <= {TARGET_WAL_RATIO:g}", "met": ratio <= TARGET_WAL_RATIO,
            "duration": f"{result['ours']['totals']['runs']} x {RUN_SECONDS} s per side",
            "note": f"Message DB {wal['message_db']:,.0f} bytes/event ({wal['message_db'] / wal['plain']:.2f}x "
                    f"plain; ours {wal['ours'] / wal['message_db']:.2f}x Message DB); "
                    f"insert LSN before and after each run, ours once sequenced; each run after a CHECKPOINT",
        })
    check_message_db(bench, measured)
