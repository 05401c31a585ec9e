-- Aggregates: state at any point in time, with snapshots (docs/aggregates.md).
-- Waits (at most 30 s) for snapshots of a stream made by its aggregate's current fold.
CREATE PROCEDURE wait_for_snapshots(stream text, wanted int, INOUT snapshots bigint) LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1..600 LOOP
        snapshots := (SELECT count(*) FROM eventstore.snapshots s JOIN eventstore.aggregates a
                      ON a.category = split_part(s.stream_id, '-', 1)
                      WHERE s.stream_id = stream AND s.fold_identity = eventstore.fold_identity(a.fold, a.initial_state));
        EXIT WHEN snapshots >= wanted;
        COMMIT;
        PERFORM pg_sleep(0.05);
        COMMIT;
    END LOOP;
END
$$;
CREATE SCHEMA wallet_code;
CREATE FUNCTION wallet_code.balance(state jsonb, e eventstore.event_record) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object(
        'balance', (state->>'balance')::numeric
                   + CASE e.event_type WHEN 'Deposited' THEN (e.data->>'amount')::numeric
                                       WHEN 'Withdrawn' THEN -(e.data->>'amount')::numeric ELSE 0 END,
        'events', (state->>'events')::int + 1)
$$;
SELECT eventstore.create_aggregate('wallet', 'wallet_code.balance(jsonb, eventstore.event_record)',
                                   '{"balance": 0, "events": 0}', snapshot_every => 3);
SELECT category, fold, initial_state, snapshot_every FROM eventstore.aggregates;

-- A stream of March, then a correction that arrives late, dated back to 2 March.
SELECT eventstore.append('wallet-7', CASE WHEN d % 3 = 0 THEN 'Withdrawn' ELSE 'Deposited' END,
                         jsonb_build_object('amount', d * 10), event_time => '2026-03-01 12:00+00'::timestamptz + (d - 1) * interval '1 day')
FROM generate_series(1, 7) d;
SELECT eventstore.wait_for_position((SELECT count(*) FROM eventstore.events), '30 seconds') AS sequenced;
SELECT max(global_position) AS before_correction_position FROM eventstore.log_positions \gset
SELECT pg_sleep(0.01);
SELECT clock_timestamp() AS known_before_correction \gset
SELECT eventstore.append('wallet-7', 'Deposited', '{"amount": 1000, "correction": true}',
                         event_time => '2026-03-02 18:00+00') AS correction_version;
SELECT eventstore.wait_for_position(:before_correction_position + 1, '30 seconds') AS sequenced;
CALL wait_for_snapshots('wallet-7', 2, NULL);
SELECT version, max_event_time, state FROM eventstore.snapshots WHERE stream_id = 'wallet-7' ORDER BY version;

-- Now, as of 4 March (the correction included: it belongs to 2 March), and
-- as of 4 March as known before the correction arrived.
SELECT * FROM eventstore.load_state('wallet-7');
SELECT * FROM eventstore.load_state('wallet-7', as_of => '2026-03-04 23:59+00');
SELECT * FROM eventstore.load_state('wallet-7', as_of => '2026-03-04 23:59+00', as_known_at => :'known_before_correction');
SELECT * FROM eventstore.load_state('wallet-7', as_known_at => :'known_before_correction');
SELECT * FROM eventstore.load_state('wallet-7', as_of => '2026-02-01');
SELECT * FROM eventstore.load_state('wallet-7', as_known_at => '2000-01-01');
-- Snapshots never change a result: the same questions folded from scratch.
SELECT q.question,
       (SELECT state FROM eventstore.load_state('wallet-7', q.as_of, q.known_at)) =
       eventstore.apply_fold('wallet_code.balance(jsonb, eventstore.event_record)', '{"balance": 0, "events": 0}',
           (SELECT array_agg(ROW(p.global_position, e.stream_id, e.stream_version, e.event_id, e.event_type,
                                 e.schema_version, e.data, e.metadata, e.event_time, e.ingest_time,
                                 e.hash)::eventstore.event_record ORDER BY e.stream_version)
            FROM eventstore.events e LEFT JOIN eventstore.log_positions p USING (stream_id, stream_version)
            WHERE e.stream_id = 'wallet-7' AND (q.as_of IS NULL OR e.event_time <= q.as_of)
              AND (q.known_at IS NULL OR p.sequenced_at <= q.known_at))) AS same_without_snapshots
FROM (VALUES ('now', NULL::timestamptz, NULL::timestamptz), ('as of 4 March', '2026-03-04 23:59+00', NULL),
             ('as of 4 March, known before', '2026-03-04 23:59+00', :'known_before_correction'),
             ('known before', NULL, :'known_before_correction'),
             ('as of 6 March', '2026-03-06 00:00+00', NULL)) AS q(question, as_of, known_at);

-- A stream without events of the aggregate's category: the initial state at version 0.
SELECT * FROM eventstore.load_state('wallet-none');

-- A fixed fold: old snapshots are ignored at once, and the worker makes new ones.
CREATE OR REPLACE FUNCTION wallet_code.balance(state jsonb, e eventstore.event_record) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object(
        'balance', (state->>'balance')::numeric
                   + CASE e.event_type WHEN 'Deposited' THEN (e.data->>'amount')::numeric
                                       WHEN 'Withdrawn' THEN -(e.data->>'amount')::numeric ELSE 0 END,
        'events', (state->>'events')::int + 1,
        'corrections', coalesce((state->>'corrections')::int, 0) + CASE WHEN e.data ? 'correction' THEN 1 ELSE 0 END)
$$;
SELECT * FROM eventstore.load_state('wallet-7');
CALL wait_for_snapshots('wallet-7', 2, NULL);
SELECT version, state FROM eventstore.snapshots WHERE stream_id = 'wallet-7' ORDER BY version;

-- Readers may load state; the fold runs as the reader.
CREATE ROLE aggregates_reader IN ROLE eventstore_reader;
GRANT USAGE ON SCHEMA wallet_code TO aggregates_reader;
SET ROLE aggregates_reader;
SELECT state->>'balance' AS balance FROM eventstore.load_state('wallet-7');
SELECT test_error($$SELECT eventstore.create_aggregate('other', 'wallet_code.balance(jsonb, eventstore.event_record)')$$);
RESET ROLE;

-- Bad input changes nothing.
SELECT test_error($$SELECT eventstore.create_aggregate('wallet', 'wallet_code.balance(jsonb, eventstore.event_record)')$$);
SELECT test_error($$SELECT eventstore.create_aggregate('other', 'wallet_code.nope(jsonb, eventstore.event_record)')$$);
SELECT test_error($$SELECT eventstore.create_aggregate('other', 'pg_catalog.jsonb_concat(jsonb, jsonb)')$$);
SELECT test_error($$SELECT eventstore.create_aggregate('other', 'wallet_code.balance(jsonb, eventstore.event_record)', snapshot_every => 0)$$);
SELECT test_error($$SELECT eventstore.create_aggregate('bad-category', 'wallet_code.balance(jsonb, eventstore.event_record)')$$);
SELECT test_error($$SELECT * FROM eventstore.load_state('account-1')$$);
SELECT test_error($$SELECT * FROM eventstore.load_state(NULL)$$);
SELECT test_error($$SELECT eventstore.drop_aggregate('other')$$);
SELECT count(*) AS aggregates FROM eventstore.aggregates;

SELECT eventstore.drop_aggregate('wallet');
SELECT count(*) AS aggregates, (SELECT count(*) FROM eventstore.snapshots) AS snapshots FROM eventstore.aggregates;
DROP SCHEMA wallet_code CASCADE;
DROP OWNED BY aggregates_reader;
DROP ROLE aggregates_reader;
DROP PROCEDURE wait_for_snapshots(text, int, bigint);
