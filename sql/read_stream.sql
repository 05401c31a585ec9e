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

-- The reads are C functions walking the indexes: the same rows under every
-- plan cache mode (as PL/pgSQL, a generic plan made read_stream quadratic).
SET plan_cache_mode = force_generic_plan;
PREPARE read_some(text, bigint, integer) AS SELECT stream_version FROM eventstore.read_stream($1, $2, $3);
EXECUTE read_some('read-1', 2, 2);
EXECUTE read_some('read-1', 9, 1000);
DEALLOCATE read_some;
RESET plan_cache_mode;

-- An event not sequenced yet (here: not even committed) is returned with a
-- NULL position, after the sequenced ones.
SELECT eventstore.wait_for_position((SELECT count(*) FROM eventstore.events), '30 seconds');
BEGIN;
SELECT eventstore.append('read-1', 'Step', '{"step": 11}');
SELECT stream_version, global_position IS NOT NULL AS sequenced FROM eventstore.read_stream('read-1', 9);
ROLLBACK;

-- read_category and read_all: global order, after_position exclusive.
SELECT eventstore.append('readcat-1', 'Opened', '{}');
SELECT eventstore.append('readcat-2', 'Opened', '{}');
SELECT eventstore.append('readcat-1', 'Closed', '{}');
SELECT eventstore.wait_for_position((SELECT count(*) FROM eventstore.events), '30 seconds');
SELECT stream_id, stream_version, event_type FROM eventstore.read_category('readcat');
SELECT count(*) AS after_first FROM eventstore.read_category('readcat',
    (SELECT min(global_position) FROM eventstore.read_category('readcat')));
SELECT count(*) AS one FROM eventstore.read_category('readcat', 0, 1);
SELECT bool_and(r.global_position = p.global_position AND r.stream_id = p.stream_id
                AND r.stream_version = p.stream_version) AS rows_match_positions,
       count(*) = (SELECT count(*) FROM eventstore.log_positions) AS all_rows
FROM eventstore.read_all(0, 2147483647) r
JOIN eventstore.log_positions p USING (global_position);

-- The reads check SELECT on the log as a query would, and refuse to bypass
-- row-level security.
CREATE ROLE read_stranger;
GRANT USAGE ON SCHEMA eventstore TO read_stranger;
GRANT EXECUTE ON FUNCTION eventstore.read_stream(text, bigint, integer) TO read_stranger;
SET ROLE read_stranger;
SELECT test_error($$SELECT * FROM eventstore.read_stream('read-1')$$);
RESET ROLE;
REVOKE ALL ON FUNCTION eventstore.read_stream(text, bigint, integer) FROM read_stranger;
REVOKE ALL ON SCHEMA eventstore FROM read_stranger;
DROP ROLE read_stranger;
ALTER TABLE eventstore.events ENABLE ROW LEVEL SECURITY;
CREATE ROLE read_policed IN ROLE eventstore_reader;
SET ROLE read_policed;
SELECT test_error($$SELECT * FROM eventstore.read_category('readcat')$$);
RESET ROLE;
DROP ROLE read_policed;
ALTER TABLE eventstore.events DISABLE ROW LEVEL SECURITY;

-- read_all and read_category go from the position indexes straight to each
-- event's row (log_positions.event_row).  The same rows come back when the
-- index alone answers (VACUUM sets the visibility map), and when events
-- was rewritten: VACUUM FULL gives it a new file, the row pointers into the
-- old one are no longer followed, and the sequencer records the new file
-- from its next position on.
SELECT eventstore.wait_for_position((SELECT count(*) FROM eventstore.events), '30 seconds');
CREATE TABLE read_before AS SELECT * FROM eventstore.read_all(0, 2147483647);
CREATE TABLE read_category_before AS SELECT * FROM eventstore.read_category('readcat');
SELECT f.filenode = pg_relation_filenode('eventstore.events') AS pointers_in_this_file
FROM eventstore.event_row_file f;
VACUUM eventstore.log_positions;
SELECT (SELECT array_agg(r::text ORDER BY r.global_position) FROM eventstore.read_all(0, 2147483647) r)
       = (SELECT array_agg(b::text ORDER BY b.global_position) FROM read_before b) AS same_rows_from_the_index;
VACUUM FULL eventstore.events;
SELECT f.filenode = pg_relation_filenode('eventstore.events') AS pointers_in_this_file
FROM eventstore.event_row_file f;
SELECT (SELECT array_agg(r::text ORDER BY r.global_position) FROM eventstore.read_all(0, 2147483647) r)
       = (SELECT array_agg(b::text ORDER BY b.global_position) FROM read_before b) AS same_rows_after_rewrite,
       (SELECT array_agg(r::text ORDER BY r.global_position) FROM eventstore.read_category('readcat') r)
       = (SELECT array_agg(b::text ORDER BY b.global_position) FROM read_category_before b) AS same_category_rows;
SELECT eventstore.append('readcat-3', 'Opened', '{}');
SELECT eventstore.wait_for_position((SELECT count(*) FROM eventstore.events), '30 seconds');
SELECT f.filenode = pg_relation_filenode('eventstore.events') AS pointers_in_this_file,
       f.from_position = (SELECT max(global_position) FROM eventstore.log_positions) AS from_the_new_position
FROM eventstore.event_row_file f;
SELECT stream_id, event_type FROM eventstore.read_category('readcat',
    (SELECT max(global_position) - 1 FROM eventstore.log_positions));
DROP TABLE read_before, read_category_before;
