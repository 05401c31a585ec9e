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

-- Long values in messages are cut on a character boundary: the message
-- stays valid in the server's encoding and converts to the client's.
-- (An odd first byte puts byte 64 inside a two-byte character.)
SELECT test_error($$SELECT eventstore.append('x' || repeat('ж', 200), 'T', '{}')$$);
-- A LATIN1 client gets the message converted (shown here by SQLSTATE only:
-- a cut character made the conversion fail with 22021 instead).
SET client_encoding = 'LATIN1';
\set VERBOSITY sqlstate
SELECT eventstore.append('x' || repeat(chr(233), 200), 'T', '{}');
SELECT eventstore.append('ok-1', 'x' || repeat(chr(233), 200), '{}');
\set VERBOSITY default
RESET client_encoding;

-- A batch is a one-dimensional array of events.
SELECT test_error($$SELECT eventstore.append_batch('bad-1', ARRAY[[ROW(NULL, 'T', '{}', NULL, NULL, NULL)::eventstore.new_event]])$$);

-- A batch is limited in total size too (pg_eventstore.max_batch_size).
SET pg_eventstore.max_batch_size = '4kB';
SELECT test_error($$SELECT eventstore.append_batch('bad-1',
    array_fill(ROW(NULL, 'T', jsonb_build_object('pad', repeat('x', 1000)), NULL, NULL, NULL)::eventstore.new_event, ARRAY[5]))$$);
RESET pg_eventstore.max_batch_size;

-- Any positive max_count: a read stops where the rows end.
SELECT count(*) = eventstore.stream_version('account-1') AS whole_stream
FROM eventstore.read_stream('account-1', 1, 2147483647);
SELECT count(*) = (SELECT count(*) FROM eventstore.log_positions) AS whole_log
FROM eventstore.read_all(0, 2147483647);

-- wait_for_position: a position is 0 or more.
SELECT test_error($$SELECT eventstore.wait_for_position(-5, '1 second')$$);

-- publish(): the key and the headers count toward the size limit.
SELECT test_error($$SELECT eventstore.publish('t', repeat('k', 1100000), '{}')$$);
SELECT test_error($$SELECT eventstore.publish('t', 'k', '{}', jsonb_build_object('h', repeat('v', 1100000)))$$);

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
-- ... and so is invalid UTF-8 inside data or metadata, which every
-- verifier outside the database would have to hash as UTF-8 text.
SELECT eventstore.append('ok-2', 'T', jsonb_build_object('name', convert_from('\x6dff'::bytea, 'SQL_ASCII')));
SELECT eventstore.append('ok-2', 'T', '{}', jsonb_build_object('name', convert_from('\x6dff'::bytea, 'SQL_ASCII')));
SELECT count(*) FROM eventstore.events;
-- wait_for_position answers only in the worker's database.
SELECT eventstore.wait_for_position(0, '1 second');
\c eventstore_regress
DROP DATABASE eventstore_ascii;
