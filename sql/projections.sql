-- Projections: the SQL contract (docs/projections.md).
-- Waits (at most 30 s) until a projection is in the given state.  A
-- procedure that commits between looks: a statement that ran for the whole
-- wait would hold a snapshot older than a rebuilt copy, which holds back its
-- switch (docs/projections.md).
CREATE PROCEDURE wait_for_state(projection text, INOUT state text) LANGUAGE plpgsql AS $$
DECLARE
    wanted text := state;
BEGIN
    FOR i IN 1..600 LOOP
        state := (SELECT s.state FROM eventstore.projection_status s WHERE s.name = projection);
        EXIT WHEN state = wanted;
        COMMIT;
        PERFORM pg_sleep(0.05);
        COMMIT;
    END LOOP;
END
$$;
SELECT max(global_position) AS start FROM eventstore.log_positions \gset

-- An administrator who owns the read-model schema registers three kinds.
CREATE ROLE projections_admin IN ROLE eventstore_admin;
CREATE SCHEMA by_event AUTHORIZATION projections_admin;
CREATE SCHEMA by_batch AUTHORIZATION projections_admin;
CREATE SCHEMA by_sql AUTHORIZATION projections_admin;
-- Handlers live outside the read-model schemas: a rebuild replaces a whole schema.
CREATE SCHEMA projection_code AUTHORIZATION projections_admin;
SET ROLE projections_admin;
CREATE TABLE by_event.balances (account text PRIMARY KEY, balance numeric NOT NULL, written_by text NOT NULL);
CREATE TABLE by_batch.balances (account text PRIMARY KEY, balance numeric NOT NULL);
CREATE TABLE by_sql.balances (account text PRIMARY KEY, balance numeric NOT NULL);
CREATE FUNCTION projection_code.apply_event(e eventstore.event_record) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF e.data ? 'poison' THEN
        RAISE EXCEPTION 'cannot apply event % of %', e.stream_version, e.stream_id USING ERRCODE = '22000';
    END IF;
    INSERT INTO balances AS b VALUES (e.stream_id, (e.data->>'amount')::numeric, current_user)
    ON CONFLICT (account) DO UPDATE SET balance = b.balance + excluded.balance, written_by = current_user;
END
$$;
CREATE FUNCTION projection_code.apply_batch(es eventstore.event_record[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO balances AS b
    SELECT e.stream_id, sum((e.data->>'amount')::numeric) FROM unnest(es) e GROUP BY 1
    ON CONFLICT (account) DO UPDATE SET balance = b.balance + excluded.balance;
END
$$;
SELECT eventstore.create_projection('by_event', 'projection_code.apply_event(eventstore.event_record)',
                                    categories => ARRAY['wallet']);
SELECT eventstore.create_projection('by_batch', 'projection_code.apply_batch(eventstore.event_record[])',
                                    event_types => ARRAY['Deposited']);
SELECT eventstore.create_projection('by_sql', sql => $$
    INSERT INTO balances AS b
    SELECT stream_id, sum((data->>'amount')::numeric) FROM batch GROUP BY 1
    ON CONFLICT (account) DO UPDATE SET balance = b.balance + excluded.balance$$, on_error => 'skip');
RESET ROLE;
SELECT name, handler_kind, schema_name, on_error, owner_role, state FROM eventstore.projections ORDER BY name;

SELECT count(eventstore.append('wallet-' || (i % 3), 'Deposited', jsonb_build_object('amount', i)))
FROM generate_series(1, 30) i;
SELECT eventstore.append('other-1', 'Noted', '{"amount": 1000}');
SELECT max(global_position) AS last FROM eventstore.log_positions \gset
SELECT eventstore.wait_for_position(:start + 31, '30 seconds') AS sequenced;
SELECT eventstore.wait_for_projection(name, :start + 31, '30 seconds') AS applied, name
FROM eventstore.projections ORDER BY name;
-- Filters: by_event sees only the wallet category, by_batch only Deposited, by_sql everything.
SELECT 'by_event' AS projection, account, balance, written_by FROM by_event.balances
UNION ALL SELECT 'by_batch', account, balance, NULL FROM by_batch.balances
UNION ALL SELECT 'by_sql', account, balance, NULL FROM by_sql.balances ORDER BY 1, 2;
-- Positions move past events the filters skip.
SELECT name, state, "position" - :start AS position, lag_events, lag_seconds, last_error
FROM eventstore.projection_status ORDER BY name;

-- A handler that fails: 'halt' stops at the event, the events before it applied.
SELECT eventstore.append('wallet-0', 'Deposited', '{"amount": 5}');
SELECT eventstore.append('wallet-0', 'Deposited', '{"amount": 7, "poison": true}');
SELECT eventstore.append('wallet-0', 'Deposited', '{"amount": 11}');
CALL wait_for_state('by_event', 'failed');
SELECT state, "position" - :start AS position, error_position - :start AS error_position, last_error
FROM eventstore.projection_status WHERE name = 'by_event';
SELECT balance FROM by_event.balances WHERE account = 'wallet-0';
SELECT eventstore.wait_for_projection('by_event', :start + 34, '100 milliseconds') AS reached_while_failed;
-- Fixed, resumed: the failing event is retried and the rest follows.
CREATE OR REPLACE FUNCTION projection_code.apply_event(e eventstore.event_record) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO balances AS b VALUES (e.stream_id, (e.data->>'amount')::numeric, current_user)
    ON CONFLICT (account) DO UPDATE SET balance = b.balance + excluded.balance, written_by = current_user;
END
$$;
SELECT eventstore.resume_projection('by_event');
SELECT eventstore.wait_for_projection('by_event', :start + 34, '30 seconds') AS applied;
SELECT balance FROM by_event.balances WHERE account = 'wallet-0';

-- 'skip' records the failing event and goes on.
SET ROLE projections_admin;
CREATE TABLE by_sql.guard (n int);
RESET ROLE;
-- (ledger-9's events are not in the wallet category nor Deposited: only by_sql sees them.)
SELECT eventstore.append('ledger-9', 'Adjusted', '{"amount": "not a number"}');
SELECT eventstore.append('ledger-9', 'Adjusted', '{"amount": 2}');
SELECT eventstore.wait_for_projection('by_sql', :start + 36, '30 seconds') AS applied;
SELECT global_position - :start AS position, sqlstate, error FROM eventstore.projection_errors;
SELECT balance FROM by_sql.balances WHERE account = 'ledger-9';

-- Pause and resume.
SELECT eventstore.pause_projection('by_batch');
SELECT eventstore.append('wallet-1', 'Deposited', '{"amount": 100}');
SELECT eventstore.wait_for_position(:start + 37, '30 seconds') AS sequenced;
SELECT eventstore.wait_for_projection('by_batch', :start + 37, '300 milliseconds') AS applied_while_paused;
SELECT state, lag_events FROM eventstore.projection_status WHERE name = 'by_batch';
SELECT eventstore.resume_projection('by_batch');
SELECT eventstore.wait_for_projection('by_batch', :start + 37, '30 seconds') AS applied_after_resume;

-- Settings the code changes end with its batch: a handler that turns on
-- read-only transactions must not stop the projector for everybody.
CREATE SCHEMA leaky AUTHORIZATION projections_admin;
SET ROLE projections_admin;
SELECT eventstore.create_projection('leaky', sql => 'SET default_transaction_read_only = on', schema => 'leaky',
                                    categories => ARRAY['leak']);
RESET ROLE;
SELECT eventstore.append('leak-1', 'Happened', '{}');
SELECT eventstore.wait_for_position((SELECT count(*) FROM eventstore.events), '30 seconds') AS sequenced;
SELECT max(global_position) AS leaked FROM eventstore.log_positions \gset
SELECT eventstore.append('wallet-2', 'Deposited', '{"amount": 1}');
SELECT eventstore.wait_for_projection('by_sql', :leaked + 1, '30 seconds') AS others_go_on;
SELECT eventstore.drop_projection('leaky');
DROP SCHEMA leaky;

-- Rebuild: a copy replayed from the start replaces the live tables.
SELECT eventstore.rebuild_projection('by_batch');
CALL wait_for_state('by_batch', 'running');
SELECT account, balance FROM by_batch.balances ORDER BY 1;
SELECT nspname FROM pg_namespace WHERE nspname LIKE 'by\_batch%' ORDER BY 1;
SELECT test_error($$SELECT eventstore.rebuild_projection('nope')$$);
-- A schema holding more than tables cannot be rebuilt (the copy would lose it).
SET ROLE projections_admin;
CREATE VIEW by_event.rich AS SELECT * FROM by_event.balances WHERE balance > 100;
RESET ROLE;
SELECT test_error($$SELECT eventstore.rebuild_projection('by_event')$$);
SELECT state, rebuild_position FROM eventstore.projection_status WHERE name = 'by_event';
-- So can a schema with a type or row-level security (the copy would silently lose them).
SET ROLE projections_admin;
DROP VIEW by_event.rich;
CREATE TYPE by_event.mood AS ENUM ('calm', 'busy');
RESET ROLE;
SELECT test_error($$SELECT eventstore.rebuild_projection('by_event')$$);
SET ROLE projections_admin;
DROP TYPE by_event.mood;
ALTER TABLE by_event.balances ENABLE ROW LEVEL SECURITY;
RESET ROLE;
SELECT test_error($$SELECT eventstore.rebuild_projection('by_event')$$);
SET ROLE projections_admin;
ALTER TABLE by_event.balances DISABLE ROW LEVEL SECURITY;
RESET ROLE;

-- wait_for_projection: bad input, and the caller's own uncommitted events.
SELECT test_error($$SELECT eventstore.wait_for_projection('nope', 1)$$);
SELECT test_error($$SELECT eventstore.wait_for_projection('by_sql', -1)$$);
BEGIN;
SELECT eventstore.append('wallet-1', 'Deposited', '{"amount": 1}') AS version;
SELECT test_error($$SELECT eventstore.wait_for_projection('by_sql', 1000000)$$);
ROLLBACK;

-- Bad registrations change nothing.
SELECT count(*) AS projections_before FROM eventstore.projections \gset
SELECT test_error($$SELECT eventstore.create_projection('p1')$$);
SELECT test_error($$SELECT eventstore.create_projection('p1', 'projection_code.apply_event(eventstore.event_record)', 'SELECT 1')$$);
SELECT test_error($$SELECT eventstore.create_projection('Not A Name', sql => 'SELECT 1')$$);
SELECT test_error($$SELECT eventstore.create_projection('p1', 'pg_catalog.now()')$$);
SELECT test_error($$SELECT eventstore.create_projection('p1', 'nope(eventstore.event_record)')$$);
SELECT test_error($$SELECT eventstore.create_projection('p1', sql => 'SELECT 1', schema => 'no_such_schema')$$);
SELECT test_error($$SELECT eventstore.create_projection('p1', sql => 'SELECT 1', schema => 'by_sql')$$);
SELECT test_error($$SELECT eventstore.create_projection('p1', sql => 'SELECT 1', schema => 'public', on_error => 'ignore')$$);
SELECT test_error($$SELECT eventstore.create_projection('by_sql', sql => 'SELECT 1', schema => 'public')$$);
SELECT test_error($$SELECT eventstore.pause_projection('nope')$$);
SELECT test_error($$SELECT eventstore.drop_projection('nope')$$);
CREATE ROLE projections_writer IN ROLE eventstore_writer;
SET ROLE projections_writer;
SELECT test_error($$SELECT eventstore.create_projection('p1', sql => 'SELECT 1', schema => 'public')$$);
SELECT test_error($$SELECT eventstore.pause_projection('by_sql')$$);
RESET ROLE;
-- An administrator cannot make a projection run as somebody else.
SET ROLE projections_admin;
INSERT INTO eventstore.projections (name, handler_kind, sql, schema_name, on_error, owner_role)
VALUES ('forged', 'sql', 'SELECT 1', 'public', 'halt', 'postgres');
SELECT owner_role FROM eventstore.projections WHERE name = 'forged';
SELECT test_error($$UPDATE eventstore.projections SET owner_role = 'postgres'$$);
RESET ROLE;
SELECT count(*) - :projections_before AS added FROM eventstore.projections;

-- Dropping forgets the registration; the tables stay.
SELECT eventstore.drop_projection(name) FROM eventstore.projections ORDER BY name;
SELECT count(*) AS registrations, (SELECT count(*) FROM by_sql.balances) > 0 AS tables_kept
FROM eventstore.projections;
DROP SCHEMA by_event, by_batch, by_sql, projection_code CASCADE;
DROP OWNED BY projections_admin, projections_writer;
DROP ROLE projections_admin, projections_writer;
DROP PROCEDURE wait_for_state(text, text);
