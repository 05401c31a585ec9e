-- Bad input: a clear error with SQLSTATE, and nothing stored.
SELECT count(*) AS events_before FROM eventstore.events \gset

-- Stream ids: NULL, empty, over 255 bytes.
SELECT test_error($$SELECT eventstore.append(NULL, 'T', '{}')$$);
SELECT test_error($$SELECT eventstore.append('', 'T', '{}')$$);
SELECT test_error($$SELECT eventstore.append(repeat('y', 256), 'T', '{}')$$);
SELECT test_error($$SELECT eventstore.append(repeat('é', 128), 'T', '{}')$$);   -- 256 bytes
SELECT test_error($$SELECT eventstore.append_batch(NULL, ARRAY[ROW(NULL, 'T', '{}', NULL, NULL, NULL)]::eventstore.new_event[])$$);

-- Event types: NULL, empty, too long.
SELECT test_error($$SELECT eventstore.append('bad-1', NULL, '{}')$$);
SELECT test_error($$SELECT eventstore.append('bad-1', '', '{}')$$);
SELECT test_error($$SELECT eventstore.append('bad-1', repeat('t', 256), '{}')$$);
SELECT test_error($$SELECT eventstore.append_batch('bad-1', ARRAY[ROW(NULL, 'Ok', '{}', NULL, NULL, NULL), ROW(NULL, NULL, '{}', NULL, NULL, NULL)]::eventstore.new_event[])$$);

-- Data must be a JSON object; metadata too when given.
SELECT test_error($$SELECT eventstore.append('bad-1', 'T', NULL)$$);
SELECT test_error($$SELECT eventstore.append('bad-1', 'T', '[1, 2, 3]')$$);
SELECT test_error($$SELECT eventstore.append('bad-1', 'T', '"text"')$$);
SELECT test_error($$SELECT eventstore.append('bad-1', 'T', '42')$$);
SELECT test_error($$SELECT eventstore.append('bad-1', 'T', 'null')$$);
SELECT test_error($$SELECT eventstore.append('bad-1', 'T', '{}', metadata => '[]')$$);

-- Payload over pg_eventstore.max_event_size (default 1 MB): 54000.
SHOW pg_eventstore.max_event_size;
SELECT test_error($$SELECT eventstore.append('bad-1', 'T', jsonb_build_object('blob', repeat('z', 1100000)))$$);
SELECT test_error($$SELECT eventstore.append('bad-1', 'T', '{}', metadata => jsonb_build_object('blob', repeat('z', 1100000)))$$);
SET pg_eventstore.max_event_size = '1kB';
SELECT test_error($$SELECT eventstore.append('bad-1', 'T', jsonb_build_object('blob', repeat('z', 2000)))$$);
RESET pg_eventstore.max_event_size;

-- Batches: NULL, empty, NULL element, bad schema_version, infinite event_time.
SELECT test_error($$SELECT eventstore.append_batch('bad-1', NULL)$$);
SELECT test_error($$SELECT eventstore.append_batch('bad-1', ARRAY[]::eventstore.new_event[])$$);
SELECT test_error($$SELECT eventstore.append_batch('bad-1', ARRAY[NULL]::eventstore.new_event[])$$);
SELECT test_error($$SELECT eventstore.append_batch('bad-1', ARRAY[ROW(NULL, 'T', '{}', NULL, NULL, 0)]::eventstore.new_event[])$$);
SELECT test_error($$SELECT eventstore.append('bad-1', 'T', '{}', event_time => 'infinity')$$);

-- Reads: max_count must be positive, from_version at least 1.
SELECT test_error($$SELECT * FROM eventstore.read_stream('account-1', 1, 0)$$);
SELECT test_error($$SELECT * FROM eventstore.read_stream('account-1', 1, -5)$$);
SELECT test_error($$SELECT * FROM eventstore.read_stream('account-1', 1, NULL)$$);
SELECT test_error($$SELECT * FROM eventstore.read_stream('account-1', 0)$$);
SELECT test_error($$SELECT * FROM eventstore.read_stream(NULL)$$);
SELECT test_error($$SELECT * FROM eventstore.verify_stream(NULL)$$);
SELECT test_error($$SELECT eventstore.stream_version(NULL)$$);

-- Nothing of the above was stored.
SELECT count(*) - :events_before AS events_added FROM eventstore.events;
SELECT count(*) FROM eventstore.streams WHERE stream_id IN ('bad-1', '');

-- Invalid UTF-8 can only reach the store in a SQL_ASCII database; it is rejected there too.
CREATE DATABASE eventstore_ascii ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0;
\c eventstore_ascii
CREATE EXTENSION pg_eventstore;
SELECT eventstore.append(convert_from('\x6163636f756e742dff'::bytea, 'SQL_ASCII'), 'T', '{}');

SELECT eventstore.append('ok-1', convert_from('\xc3'::bytea, 'SQL_ASCII'), '{}');
SELECT count(*) FROM eventstore.events;
\c eventstore_regress
DROP DATABASE eventstore_ascii;
