-- eventstore.read_stream: ascending versions, from_version, max_count.
SELECT eventstore.append_batch('read-1',
    array_agg(ROW(NULL, 'Step', jsonb_build_object('step', g), NULL, NULL, NULL)::eventstore.new_event ORDER BY g))
FROM generate_series(1, 10) g;
SELECT stream_version, data FROM eventstore.read_stream('read-1');
SELECT stream_version FROM eventstore.read_stream('read-1', 4, 3);
SELECT stream_version FROM eventstore.read_stream('read-1', 10);
SELECT count(*) FROM eventstore.read_stream('read-1', 11);
SELECT count(*) FROM eventstore.read_stream('no-such-stream');
-- Rows are eventstore.event_record; global_position is NULL until the worker sequences the event.
SELECT pg_typeof(r) FROM eventstore.read_stream('read-1', 1, 1) r;
SELECT length(hash) AS hash_bytes FROM eventstore.read_stream('read-1', 1, 1);
-- Unknown streams have version 0.
SELECT eventstore.stream_version('no-such-stream');
