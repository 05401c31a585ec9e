-- reads.sql — the plain table of the reads scenario, and how it and
-- Message DB's table get the same events as ours.
--
-- bench.plain_read_events is eventstore.events (LIKE ... INCLUDING ALL: its
-- columns, primary key (stream_id, stream_version), unique event_id, the
-- xid index) plus the global position as a column, unique with the
-- category, the stream id up to its first '-' as in the store, in the index
-- category reads use.  A plain SELECT from it returns what
-- eventstore.read_stream and read_category return: the same columns, the
-- same values.  No index on the global position alone: given one, the
-- planner reads a category's first events through it, in global order, and
-- filters out the other categories' (19 rows in 20), twice as slow as
-- through the category index; the plain side is the best plan, the floor.
--
-- bench.copy_log_for_reads() fills it and message_store.messages (Message DB,
-- installed before) from the sequenced log, in global order, so that all
-- three tables hold the same events in the same physical order.  Message DB
-- numbers a stream's messages from 0 and keeps its time without a zone.
CREATE SCHEMA IF NOT EXISTS bench;
CREATE TABLE IF NOT EXISTS bench.plain_read_events (
    global_position bigint NOT NULL,
    LIKE eventstore.events INCLUDING ALL
);
CREATE UNIQUE INDEX IF NOT EXISTS plain_read_events_category_idx
    ON bench.plain_read_events (split_part(stream_id, '-', 1), global_position);

CREATE OR REPLACE FUNCTION bench.copy_log_for_reads() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    copied bigint;
BEGIN
    TRUNCATE bench.plain_read_events, message_store.messages;
    INSERT INTO bench.plain_read_events (global_position, stream_id, stream_version, event_id, event_type,
                                         schema_version, data, metadata, event_time, ingest_time, hash,
                                         xid, insert_seq)
    SELECT p.global_position, e.stream_id, e.stream_version, e.event_id, e.event_type, e.schema_version,
           e.data, e.metadata, e.event_time, e.ingest_time, e.hash, e.xid, e.insert_seq
    FROM eventstore.log_positions p
    JOIN eventstore.events e USING (stream_id, stream_version)
    ORDER BY p.global_position;
    GET DIAGNOSTICS copied = ROW_COUNT;
    INSERT INTO message_store.messages (global_position, position, time, stream_name, type, data, metadata, id)
    SELECT global_position, stream_version - 1, event_time AT TIME ZONE 'utc', stream_id, event_type,
           data, metadata, event_id
    FROM bench.plain_read_events
    ORDER BY global_position;
    PERFORM setval('message_store.messages_global_position_seq', (SELECT max(global_position)
                                                                  FROM message_store.messages));
    RETURN copied;
END
$$;
