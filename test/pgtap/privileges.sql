-- privileges.sql — pgTAP suite for pg_eventstore's privilege model.
--
-- Checks what each of the roles eventstore_reader, eventstore_writer and
-- eventstore_admin (and a role with none of them) may and may not do; that the
-- log tables are append-only even for the owner/superuser (the log_guard
-- trigger); that the SECURITY DEFINER append functions pin search_path; and
-- that a row altered behind the guard's back (superuser with
-- session_replication_role = replica) is reported by verify_stream and
-- verify_all at the exact version.
--
-- Run by `scripts/test.sh pgtap` (pg_prove as the postgres superuser).  Every
-- test role and event is created inside the transaction and rolled back.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;

SELECT plan(66);

-- ---------------------------------------------------------------------------
-- Fixtures (as superuser)
-- ---------------------------------------------------------------------------
CREATE ROLE t_reader NOLOGIN IN ROLE eventstore_reader;
CREATE ROLE t_writer NOLOGIN IN ROLE eventstore_writer;
CREATE ROLE t_admin  NOLOGIN IN ROLE eventstore_admin;
CREATE ROLE t_nobody NOLOGIN;

SELECT is(eventstore.append('priv-seed', 'Seeded', '{"n": 1}'), 1::bigint,
          'superuser seeds stream priv-seed');

-- ---------------------------------------------------------------------------
-- Reader: reads and verifies, never writes
-- ---------------------------------------------------------------------------
SET ROLE t_reader;

SELECT is((SELECT count(*) FROM eventstore.read_stream('priv-seed')), 1::bigint,
          'reader: read_stream returns the stream''s event');
SELECT is(eventstore.stream_version('priv-seed'), 1::bigint,
          'reader: stream_version works');
SELECT results_eq(
    $$SELECT stream_id, ok, first_bad_version FROM eventstore.verify_stream('priv-seed')$$,
    $$VALUES ('priv-seed'::text, true, NULL::bigint)$$,
    'reader: verify_stream works and reports ok');
SELECT is((SELECT count(*) FROM eventstore.events WHERE stream_id = 'priv-seed'), 1::bigint,
          'reader: can SELECT eventstore.events');
SELECT is((SELECT version FROM eventstore.streams WHERE stream_id = 'priv-seed'), 1::bigint,
          'reader: can SELECT eventstore.streams');
SELECT lives_ok($$SELECT count(*) FROM eventstore.log_positions$$,
          'reader: can SELECT eventstore.log_positions');
SELECT throws_ok($$SELECT eventstore.append('priv-reader', 'T', '{}')$$,
          '42501', 'permission denied for function append',
          'reader: cannot append');
SELECT throws_ok($$SELECT eventstore.append_batch('priv-reader',
                     ARRAY[ROW(NULL, 'T', '{}', NULL, NULL, NULL)::eventstore.new_event])$$,
          '42501', 'permission denied for function append_batch',
          'reader: cannot append_batch');
SELECT throws_ok($$INSERT INTO eventstore.events
                     SELECT * FROM eventstore.events WHERE stream_id = 'priv-seed'$$,
          '42501', 'permission denied for table events',
          'reader: cannot INSERT into eventstore.events directly');
SELECT throws_ok($$SELECT * FROM eventstore.verify_all()$$,
          '42501', 'permission denied for function verify_all',
          'reader: cannot call verify_all (admin only)');

RESET ROLE;

-- ---------------------------------------------------------------------------
-- Writer: appends through the functions only
-- ---------------------------------------------------------------------------
SET ROLE t_writer;

SELECT is(eventstore.append('priv-writer', 'Written', '{"k": "v"}'), 1::bigint,
          'writer: append creates version 1');
SELECT is(eventstore.append_batch('priv-writer',
              ARRAY[ROW(NULL, 'Batched', '{"i": 1}', NULL, NULL, NULL)::eventstore.new_event,
                    ROW(NULL, 'Batched', '{"i": 2}', '{"m": true}', NULL, 2)::eventstore.new_event],
              1),
          3::bigint,
          'writer: append_batch appends versions 2..3');
SELECT is((SELECT count(*) FROM eventstore.read_stream('priv-writer')), 3::bigint,
          'writer: inherits reading (read_stream sees its 3 events)');

SELECT throws_ok($$UPDATE eventstore.events SET data = '{}' WHERE stream_id = 'priv-writer'$$,
          '42501', 'permission denied for table events', 'writer: cannot UPDATE events');
SELECT throws_ok($$DELETE FROM eventstore.events WHERE stream_id = 'priv-writer'$$,
          '42501', 'permission denied for table events', 'writer: cannot DELETE from events');
SELECT throws_ok($$TRUNCATE eventstore.events$$,
          '42501', 'permission denied for table events', 'writer: cannot TRUNCATE events');
SELECT throws_ok($$UPDATE eventstore.streams SET version = 99 WHERE stream_id = 'priv-writer'$$,
          '42501', 'permission denied for table streams', 'writer: cannot UPDATE streams');
SELECT throws_ok($$DELETE FROM eventstore.streams WHERE stream_id = 'priv-writer'$$,
          '42501', 'permission denied for table streams', 'writer: cannot DELETE from streams');
SELECT throws_ok($$TRUNCATE eventstore.streams$$,
          '42501', 'permission denied for table streams', 'writer: cannot TRUNCATE streams');
SELECT throws_ok($$DELETE FROM eventstore.log_positions$$,
          '42501', 'permission denied for table log_positions', 'writer: cannot DELETE from log_positions');
SELECT throws_ok($$INSERT INTO eventstore.events
                     SELECT stream_id, stream_version + 100, gen_random_uuid(), event_type, schema_version,
                            data, metadata, event_time, ingest_time, hash, xid, insert_seq
                     FROM eventstore.events WHERE stream_id = 'priv-writer' AND stream_version = 1$$,
          '42501', 'permission denied for table events', 'writer: cannot INSERT into events directly');
SELECT throws_ok($$INSERT INTO eventstore.streams (stream_id, category, version, head_hash)
                     VALUES ('priv-forged', 'priv', 1, '\x00')$$,
          '42501', 'permission denied for table streams', 'writer: cannot INSERT into streams directly');
SELECT throws_ok($$SELECT nextval('eventstore.insert_seq')$$,
          '42501', 'permission denied for sequence insert_seq', 'writer: cannot draw from insert_seq');
SELECT throws_ok($$SELECT * FROM eventstore.verify_all()$$,
          '42501', 'permission denied for function verify_all',
          'writer: cannot call verify_all (admin only)');

RESET ROLE;

-- ---------------------------------------------------------------------------
-- Admin: verify_all; still no direct writes
-- ---------------------------------------------------------------------------
SET ROLE t_admin;

SELECT results_eq(
    $$SELECT ok, first_bad_version FROM eventstore.verify_all()$$,
    $$VALUES (true, NULL::bigint)$$,
    'admin: verify_all runs and reports a single ok row');
SELECT is(eventstore.append('priv-admin', 'ByAdmin', '{}'), 1::bigint,
          'admin: inherits append');
SELECT throws_ok($$UPDATE eventstore.events SET data = '{}' WHERE stream_id = 'priv-admin'$$,
          '42501', 'permission denied for table events', 'admin: cannot UPDATE events');

RESET ROLE;

-- ---------------------------------------------------------------------------
-- A role with no eventstore role
-- ---------------------------------------------------------------------------
SET ROLE t_nobody;

SELECT throws_ok($$SELECT * FROM eventstore.read_stream('priv-seed')$$,
          '42501', NULL, 'nobody: cannot read_stream');
SELECT throws_ok($$SELECT eventstore.stream_version('priv-seed')$$,
          '42501', NULL, 'nobody: cannot call stream_version');
SELECT throws_ok($$SELECT count(*) FROM eventstore.events$$,
          '42501', NULL, 'nobody: cannot SELECT events');
SELECT throws_ok($$SELECT eventstore.append('priv-nobody', 'T', '{}')$$,
          '42501', NULL, 'nobody: cannot append');
SELECT throws_ok($$SELECT eventstore.append_batch('priv-nobody',
                     ARRAY[ROW(NULL, 'T', '{}', NULL, NULL, NULL)::eventstore.new_event])$$,
          '42501', NULL, 'nobody: cannot append_batch');

RESET ROLE;

SELECT is((SELECT count(*) FROM eventstore.streams WHERE stream_id IN ('priv-reader', 'priv-nobody', 'priv-forged')),
          0::bigint, 'refused appends created no stream');

-- Even granting USAGE on the schema is not enough: nothing is granted to PUBLIC.
SELECT is(
    (SELECT count(*) FROM pg_proc p, aclexplode(p.proacl) a
     WHERE p.pronamespace = 'eventstore'::regnamespace AND a.grantee = 0),
    0::bigint, 'no eventstore function is executable by PUBLIC');
SELECT is(
    (SELECT count(*) FROM pg_proc p
     WHERE p.pronamespace = 'eventstore'::regnamespace AND p.proacl IS NULL),
    0::bigint, 'no eventstore function keeps the default (PUBLIC EXECUTE) ACL');
SELECT is(
    (SELECT count(*) FROM pg_class c, aclexplode(c.relacl) a
     WHERE c.relnamespace = 'eventstore'::regnamespace AND a.grantee = 0),
    0::bigint, 'no eventstore table or sequence is accessible to PUBLIC');

-- ---------------------------------------------------------------------------
-- Append-only for everyone: the owner/superuser is stopped by the trigger
-- ---------------------------------------------------------------------------
SELECT ok((SELECT rolsuper FROM pg_roles WHERE rolname = current_user),
          'the following run as a superuser');

SELECT throws_ok($$UPDATE eventstore.events SET data = '{}' WHERE stream_id = 'priv-seed'$$,
          '42501', 'UPDATE on events is not allowed: the event log is append-only',
          'superuser: UPDATE events refused by the trigger');
SELECT throws_ok($$DELETE FROM eventstore.events WHERE stream_id = 'priv-seed'$$,
          '42501', 'DELETE on events is not allowed: the event log is append-only',
          'superuser: DELETE events refused by the trigger');
SELECT throws_ok($$TRUNCATE eventstore.events$$,
          '42501', 'TRUNCATE on events is not allowed: the event log is append-only',
          'superuser: TRUNCATE events refused by the trigger');
SELECT throws_ok($$UPDATE eventstore.streams SET version = 99$$,
          '42501', 'UPDATE on streams is not allowed: the event log is append-only',
          'superuser: UPDATE streams refused by the trigger');
SELECT throws_ok($$DELETE FROM eventstore.streams$$,
          '42501', 'DELETE on streams is not allowed: the event log is append-only',
          'superuser: DELETE streams refused by the trigger');
SELECT throws_ok($$TRUNCATE eventstore.streams$$,
          '42501', 'TRUNCATE on streams is not allowed: the event log is append-only',
          'superuser: TRUNCATE streams refused by the trigger');
SELECT throws_ok($$UPDATE eventstore.log_positions SET global_position = 0$$,
          '42501', 'UPDATE on log_positions is not allowed: the event log is append-only',
          'superuser: UPDATE log_positions refused by the trigger');
SELECT throws_ok($$DELETE FROM eventstore.log_positions$$,
          '42501', 'DELETE on log_positions is not allowed: the event log is append-only',
          'superuser: DELETE log_positions refused by the trigger');
SELECT throws_ok($$TRUNCATE eventstore.log_positions$$,
          '42501', 'TRUNCATE on log_positions is not allowed: the event log is append-only',
          'superuser: TRUNCATE log_positions refused by the trigger');
SELECT throws_ok($$TRUNCATE eventstore.events, eventstore.streams, eventstore.log_positions CASCADE$$,
          '42501', NULL, 'superuser: TRUNCATE of all log tables at once refused');

SELECT is((SELECT count(*) FROM eventstore.events WHERE stream_id IN ('priv-seed', 'priv-writer', 'priv-admin')),
          5::bigint, 'after all refused statements the 5 events are still there');
SELECT results_eq(
    $$SELECT ok, first_bad_version FROM eventstore.verify_all()$$,
    $$VALUES (true, NULL::bigint)$$,
    'after all refused statements every chain still verifies');

-- ---------------------------------------------------------------------------
-- SECURITY DEFINER functions pin search_path
-- ---------------------------------------------------------------------------
SELECT ok((SELECT prosecdef FROM pg_proc WHERE oid = 'eventstore.append(text, text, jsonb, jsonb, bigint, uuid, timestamptz)'::regprocedure),
          'append is SECURITY DEFINER');
SELECT ok((SELECT prosecdef FROM pg_proc WHERE oid = 'eventstore.append_batch(text, eventstore.new_event[], bigint)'::regprocedure),
          'append_batch is SECURITY DEFINER');
SELECT is((SELECT proconfig FROM pg_proc WHERE oid = 'eventstore.append(text, text, jsonb, jsonb, bigint, uuid, timestamptz)'::regprocedure),
          ARRAY['search_path=pg_catalog, pg_temp'],
          'append pins search_path = pg_catalog, pg_temp');
SELECT is((SELECT proconfig FROM pg_proc WHERE oid = 'eventstore.append_batch(text, eventstore.new_event[], bigint)'::regprocedure),
          ARRAY['search_path=pg_catalog, pg_temp'],
          'append_batch pins search_path = pg_catalog, pg_temp');
SELECT is(
    (SELECT array_agg(p.oid::regprocedure::text ORDER BY p.oid::regprocedure::text) FROM pg_proc p
     WHERE p.pronamespace = 'eventstore'::regnamespace AND p.prosecdef
       AND NOT coalesce(p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp'], false)),
    NULL::text[], 'every SECURITY DEFINER function in eventstore pins search_path');

-- A hostile search_path of the caller does not redirect the append.
CREATE SCHEMA t_hostile;
CREATE TABLE t_hostile.streams (LIKE eventstore.streams);
SET search_path = t_hostile, public, pg_catalog;
SELECT is(eventstore.append('priv-path', 'T', '{}'), 1::bigint,
          'append works with a caller search_path shadowing eventstore tables');
RESET search_path;
SELECT is((SELECT count(*) FROM t_hostile.streams), 0::bigint,
          'the shadowing table was not touched');
SELECT is((SELECT version FROM eventstore.streams WHERE stream_id = 'priv-path'), 1::bigint,
          'the append went to eventstore.streams');

-- ---------------------------------------------------------------------------
-- Tampering with the guard disabled is found at the exact version
-- ---------------------------------------------------------------------------
SELECT is(eventstore.append_batch('priv-tamper',
              (SELECT array_agg(ROW(NULL, 'Step', jsonb_build_object('step', g), NULL, NULL, NULL)::eventstore.new_event
                                ORDER BY g)
               FROM generate_series(1, 6) g)),
          6::bigint, 'stream priv-tamper has 6 events');
SELECT results_eq(
    $$SELECT ok, first_bad_version FROM eventstore.verify_stream('priv-tamper')$$,
    $$VALUES (true, NULL::bigint)$$,
    'priv-tamper verifies before tampering');

SET session_replication_role = replica;
UPDATE eventstore.events SET data = '{"step": 444}'
WHERE stream_id = 'priv-tamper' AND stream_version = 4;
RESET session_replication_role;

SELECT is((SELECT data FROM eventstore.events WHERE stream_id = 'priv-tamper' AND stream_version = 4),
          '{"step": 444}'::jsonb, 'the superuser really altered version 4 with the guard off');
SELECT results_eq(
    $$SELECT stream_id, ok, first_bad_version FROM eventstore.verify_stream('priv-tamper')$$,
    $$VALUES ('priv-tamper'::text, false, 4::bigint)$$,
    'verify_stream reports the tampered stream at version 4');
SELECT matches((SELECT detail FROM eventstore.verify_stream('priv-tamper')),
          '^hash mismatch at version 4',
          'verify_stream explains the hash mismatch at version 4');
SELECT results_eq(
    $$SELECT stream_id, ok, first_bad_version FROM eventstore.verify_all() WHERE stream_id = 'priv-tamper'$$,
    $$VALUES ('priv-tamper'::text, false, 4::bigint)$$,
    'verify_all reports the tampered stream at version 4');
SELECT is((SELECT bool_or(ok) FROM eventstore.verify_all()), false,
          'verify_all no longer reports an ok summary');
SELECT results_eq(
    $$SELECT stream_id, ok, first_bad_version FROM eventstore.verify_stream('priv-seed')$$,
    $$VALUES ('priv-seed'::text, true, NULL::bigint)$$,
    'untouched streams still verify');

SELECT * FROM finish();
ROLLBACK;
