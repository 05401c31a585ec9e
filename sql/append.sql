-- eventstore.append: versions start at 1 and grow by one per event.
SELECT eventstore.stream_version('account-1');
SELECT eventstore.append('account-1', 'AccountOpened', '{"owner": "Ann"}');
SELECT eventstore.append('account-1', 'MoneyDeposited', '{"amount": 100}');
SELECT eventstore.stream_version('account-1');

-- Every optional argument, by name.
SELECT eventstore.append('account-1', 'MoneyWithdrawn', '{"amount": 30}',
    metadata => '{"correlation_id": "c-1"}',
    expected_version => 2,
    event_id => '00000000-0000-4000-8000-000000000001',
    event_time => '2026-01-31 23:59:59+00');

SELECT stream_id, stream_version, event_id, event_type, schema_version, data, metadata, event_time
FROM eventstore.read_stream('account-1') WHERE stream_version = 3;

-- Generated event ids are version-4 UUIDs and unique.
SELECT count(DISTINCT event_id) = 3 AS distinct_ids,
       bool_and(substr(event_id::text, 15, 1) = '4') AS version_4
FROM eventstore.events WHERE stream_id = 'account-1';

-- event_time defaults to the transaction start; ingest_time is when the store accepted it.
BEGIN;
SELECT eventstore.append('account-2', 'AccountOpened', '{}') AS v;
SELECT event_time = now() AS event_time_is_now, ingest_time >= now() AS ingest_after_start
FROM eventstore.events WHERE stream_id = 'account-2';
COMMIT;

-- The category is the part before the first dash.
SELECT eventstore.append('loan', 'LoanRequested', '{"amount": 5}');
SELECT eventstore.append('account-fx-9', 'AccountOpened', '{}');
SELECT stream_id, category, version FROM eventstore.streams ORDER BY stream_id;

-- Each event records its transaction and an insert sequence number.
SELECT count(*) FILTER (WHERE xid IS NOT NULL AND insert_seq IS NOT NULL) = count(*) AS recorded
FROM eventstore.events;

-- Two appends in one transaction share the xid; their sequence numbers grow.
BEGIN;
SELECT eventstore.append('account-3', 'AccountOpened', '{}');
SELECT eventstore.append('account-3', 'MoneyDeposited', '{"amount": 1}');
COMMIT;
SELECT count(DISTINCT xid) AS xids, bool_and(insert_seq > 0) AS positive,
       (array_agg(insert_seq ORDER BY stream_version))[1] < (array_agg(insert_seq ORDER BY stream_version))[2] AS increasing
FROM eventstore.events WHERE stream_id = 'account-3';

-- A rolled-back append leaves nothing behind, not even the stream head.
BEGIN;
SELECT eventstore.append('account-rolled-back', 'AccountOpened', '{}');
ROLLBACK;
SELECT eventstore.stream_version('account-rolled-back');
SELECT count(*) FROM eventstore.streams WHERE stream_id = 'account-rolled-back';

-- Stream ids up to 255 bytes, any UTF-8.
SELECT eventstore.append(repeat('x', 255), 'Long', '{}');
SELECT eventstore.append('compte-é€', 'Ouvert', '{"déjà": "vu"}');
SELECT stream_id, category FROM eventstore.streams WHERE stream_id = 'compte-é€';

-- Savepoints: an append rolled back to a savepoint leaves no trace, and the
-- stream goes on from the version before it.
BEGIN;
SELECT eventstore.append('savepoint-1', 'A', '{}');
SAVEPOINT s1;
SELECT eventstore.append('savepoint-1', 'B', '{}');
ROLLBACK TO SAVEPOINT s1;
SELECT eventstore.append('savepoint-1', 'C', '{}');
SAVEPOINT s2;
SELECT eventstore.append('savepoint-1', 'D', '{}');
RELEASE SAVEPOINT s2;
COMMIT;
SELECT stream_version, event_type FROM eventstore.read_stream('savepoint-1');
SELECT ok FROM eventstore.verify_stream('savepoint-1');
SELECT eventstore.stream_version('savepoint-1');

-- An insert trigger the owner puts on eventstore.events fires for appends
-- (they then go in by an INSERT statement); the extension's own triggers
-- do not need it.  It runs under the append's search_path (pg_catalog, pg_temp).
CREATE TABLE appended_seen (stream_id text, stream_version bigint);
CREATE FUNCTION note_append() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.appended_seen VALUES (NEW.stream_id, NEW.stream_version);  -- appends run with search_path pg_catalog
    RETURN NULL;
END $$;
CREATE TRIGGER note_append AFTER INSERT ON eventstore.events FOR EACH ROW EXECUTE FUNCTION note_append();
SELECT eventstore.append('triggered-1', 'A', '{}');
SELECT eventstore.append_batch('triggered-1', ARRAY[ROW(NULL, 'B', '{}', NULL, NULL, NULL),
                                                    ROW(NULL, 'C', '{}', NULL, NULL, NULL)]::eventstore.new_event[]);
SELECT * FROM appended_seen ORDER BY stream_version;
SELECT ok FROM eventstore.verify_stream('triggered-1');
DROP TRIGGER note_append ON eventstore.events;
SELECT eventstore.append('triggered-1', 'D', '{}');
SELECT count(*) AS seen_after_drop FROM appended_seen;
DROP TABLE appended_seen;
DROP FUNCTION note_append();
