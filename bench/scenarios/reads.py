"""reads — reading 1,000 events, of a stream and of a category: ours against
a plain SELECT of the same rows and against Message DB (installed from its
npm package, benchlib.install_message_db).

The data: 200 streams of 1,000 events (account<c>-<n>: 20 categories of
10 streams, 10,000 events per category), appended with append_batch in 100
rounds of 10 events to every stream, so that a stream's events lie spread
over the heap as when many streams are written at once, not in one run of
pages.  Once the sequencer has given every event its position,
bench.copy_log_for_reads() (bench/sql/reads.sql) copies the log in global
order into a plain table with the events table's columns and indexes plus
the global position (and a (category, global_position) index), and into
Message DB's messages table: three tables with the same rows in the same
physical order.  Then VACUUM ANALYZE.

Each pgbench transaction reads from a random stream or category, pgbench
-M prepared, ABBA-ordered rounds over the three sides as in message_db:

  * a stream: eventstore.read_stream(stream, 1, 1000), the plain SELECT by
    primary key, message_store.get_stream_messages(stream, 0, 1000);
  * a category from its start: eventstore.read_category(category, 0, 1000),
    the plain SELECT by the category index,
    message_store.get_category_messages(category, 1, 1000).

Every read returns 1,000 rows (checked before the runs, with the same
content on our side and the plain one, and the same ids and positions on
Message DB's); the rates are reads per second.  Reads are steadier than
durable writes, so each run lasts 1/3 of BENCH_SECONDS (5 s by default) and
the scenario stays near 3 minutes.
"""
import psycopg2

from benchlib import MESSAGE_DB_OPTIONS, PAYLOAD, SECONDS, Side

TITLE = "read_stream / read_category of 1,000 events vs plain SELECT vs Message DB"
ORDER = 35
CATEGORIES = 20
STREAMS = 10          # per category
EVENTS = 1000         # per stream
CHUNK = 10            # events per stream and fill round
READ = 1000           # events per read
RUN_SECONDS = max(3, SECONDS // 3)
TARGET_PLAIN = 0.9
TARGET_MESSAGE_DB = 1.0


def fill(bench):
    for _ in range(EVENTS // CHUNK):
        bench.sql("SELECT count(eventstore.append_batch('account' || c || '-' || n, ARRAY("
                  "  SELECT ROW(NULL, 'Deposited', %s::jsonb, NULL, NULL, NULL)::eventstore.new_event"
                  "  FROM generate_series(1, %s))))"
                  " FROM generate_series(1, %s) n, generate_series(1, %s) c",
                  (PAYLOAD, CHUNK, STREAMS, CATEGORIES))
    bench.wait_for_sequencer(timeout=300)
    copied = bench.value("SELECT bench.copy_log_for_reads()")
    if copied != CATEGORIES * STREAMS * EVENTS:
        raise RuntimeError(f"{copied} events sequenced, expected {CATEGORIES * STREAMS * EVENTS}")
    bench.sql("VACUUM ANALYZE")
    # Every table and index of the three stores in shared buffers (they fit
    # in its 512 MB): no side pays for reading pages in that another did not.
    bench.sql("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
    bench.sql("SELECT pg_prewarm(c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
              "WHERE n.nspname IN ('eventstore', 'bench', 'message_store') AND c.relkind IN ('r', 'i', 't')")


# One row per event as the three sides return it, to compare them.
OURS = {"stream": "SELECT r::text, r.event_id::text, r.global_position FROM eventstore.read_stream(%s, 1, %s) r",
        "category": "SELECT r::text, r.event_id::text, r.global_position FROM eventstore.read_category(%s, 0, %s) r"}
PLAIN = {"stream": "SELECT p::text FROM (SELECT global_position, stream_id, stream_version, event_id, event_type,"
                   " schema_version, data, metadata, event_time, ingest_time, hash FROM bench.plain_read_events"
                   " WHERE stream_id = %s ORDER BY stream_version LIMIT %s) p",
         "category": "SELECT p::text FROM (SELECT global_position, stream_id, stream_version, event_id, event_type,"
                     " schema_version, data, metadata, event_time, ingest_time, hash FROM bench.plain_read_events"
                     " WHERE split_part(stream_id, '-', 1) = %s ORDER BY global_position LIMIT %s) p"}
MESSAGE_DB = {"stream": "SELECT id, global_position FROM get_stream_messages(%s, 0, %s)",
              "category": "SELECT id, global_position FROM get_category_messages(%s, 1, %s)"}


def check_same_rows(bench, message_db):
    """Every side returns READ rows for a stream and a category, ours and the
    plain one the same text, Message DB the same ids and global positions."""
    for kind, name in (("stream", "account7-3"), ("category", "account7")):
        ours = bench.sql(OURS[kind], (name, READ))
        plain = bench.sql(PLAIN[kind], (name, READ))
        with message_db.cursor() as cursor:
            cursor.execute(MESSAGE_DB[kind], (name, READ))
            theirs = cursor.fetchall()
        if len(ours) != READ or [r[0] for r in ours] != [r[0] for r in plain] \
                or [(r[1], r[2]) for r in ours] != [tuple(r) for r in theirs]:
            raise RuntimeError(f"the sides do not return the same {kind} {name}: "
                               f"{len(ours)} / {len(plain)} / {len(theirs)} rows")


def run(bench):
    bench.install_message_db()
    bench.setup_sql("reads.sql")
    fill(bench)
    message_db = psycopg2.connect("", options=MESSAGE_DB_OPTIONS)
    try:
        check_same_rows(bench, message_db)
    finally:
        message_db.close()
    for kind, label in (("stream", f"read a {EVENTS:,}-event stream"),
                        ("category", f"read {READ:,} events of a category")):
        defines = {"categories": CATEGORIES, "streams": STREAMS, "category": int(kind == "category")}
        sides = {
            "plain": Side("read_plain.sql", defines=defines, label="plain SELECT"),
            "ours": Side("read_ours.sql", defines=defines, label=f"eventstore.read_{kind}"),
            "message_db": Side("read_message_db.sql", defines=defines, label=f"Message DB get_{kind}_messages",
                               env={"PGOPTIONS": MESSAGE_DB_OPTIONS}),
        }
        for clients in (1, 4):
            case = f"{label}, {clients} client{'s' if clients > 1 else ''}"
            result = bench.measure(case, sides, clients, seconds=RUN_SECONDS, unit="reads/s")
            bench.ratio_row(f"{case}: ours vs plain SELECT", result, "ours", "plain", TARGET_PLAIN,
                            unit="reads/s", worker_note=False)
            vs_plain = result["message_db"]["rate"] / result["plain"]["rate"]
            bench.ratio_row(f"{case}: ours vs Message DB", result, "ours", "message_db", TARGET_MESSAGE_DB,
                            unit="reads/s", note=f"Message DB {vs_plain:.2f}x the plain SELECT", worker_note=False)
