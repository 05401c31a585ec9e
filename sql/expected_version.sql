-- expected_version: NULL any, 0 no stream, -1 existing stream, N exact.
-- A mismatch is ES001 and appends nothing.
\set VERBOSITY default
SELECT eventstore.append('ev-1', 'Created', '{}', expected_version => -1);   -- must exist: fails
SELECT eventstore.append('ev-1', 'Created', '{}', expected_version => 0);    -- must not exist: ok
SELECT eventstore.append('ev-1', 'Created', '{}', expected_version => 0);    -- exists now: fails
SELECT eventstore.append('ev-1', 'Changed', '{}', expected_version => -1);   -- exists: ok
SELECT eventstore.append('ev-1', 'Changed', '{}', expected_version => 2);    -- exact: ok
SELECT eventstore.append('ev-1', 'Changed', '{}', expected_version => 2);    -- stale: fails
SELECT eventstore.append('ev-1', 'Changed', '{}', expected_version => 9);    -- ahead: fails
SELECT eventstore.append('ev-1', 'Changed', '{}', expected_version => NULL); -- any: ok
SELECT eventstore.stream_version('ev-1'), count(*) FROM eventstore.events WHERE stream_id = 'ev-1';

-- The SQLSTATE is ES001 and can be caught by name.
DO $$
BEGIN
    PERFORM eventstore.append('ev-1', 'Changed', '{}', expected_version => 1);
EXCEPTION WHEN SQLSTATE 'ES001' THEN
    RAISE NOTICE 'caught ES001: %', SQLERRM;
END
$$;

-- Below -1 is invalid input (22023), checked before anything else.
SELECT eventstore.append('ev-1', 'Changed', '{}', expected_version => -2);
SELECT eventstore.append_batch('ev-1', ARRAY[ROW(NULL, 'Changed', '{}', NULL, NULL, NULL)]::eventstore.new_event[], -5);
SELECT eventstore.stream_version('ev-1');
