-- read_plain.sql — baseline of read_ours.sql: the same rows with a plain
-- SELECT from bench.plain_read_events (bench/sql/reads.sql), which holds the
-- same events with their global positions, by its primary key or its
-- (category, global_position) index.
\set c random(1, :categories)
\set n random(1, :streams)
\if :category
SELECT global_position, stream_id, stream_version, event_id, event_type, schema_version, data, metadata,
       event_time, ingest_time, hash
FROM bench.plain_read_events
WHERE split_part(stream_id, '-', 1) = 'account' || :c AND global_position > 0
ORDER BY global_position
LIMIT 1000;
\else
SELECT global_position, stream_id, stream_version, event_id, event_type, schema_version, data, metadata,
       event_time, ingest_time, hash
FROM bench.plain_read_events
WHERE stream_id = 'account' || :c || '-' || :n AND stream_version >= 1
ORDER BY stream_version
LIMIT 1000;
\endif
