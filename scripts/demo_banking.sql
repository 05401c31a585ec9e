-- demo_banking.sql — the `make demo` scenario: a small bank on pg_eventstore.
\pset footer off
\set VERBOSITY default

\echo
\echo '== 0. Route the account category to its own Kafka topic (others go to eventstore.events)'
SELECT eventstore.add_route('account', 'bank.accounts');

\echo
\echo '== 1. Open two accounts (expected_version 0: the stream must not exist yet)'
SELECT eventstore.append('account-alice', 'AccountOpened', '{"owner": "Alice", "currency": "EUR"}', expected_version => 0) AS alice_version;
SELECT eventstore.append('account-bob',   'AccountOpened', '{"owner": "Bob", "currency": "EUR"}',   expected_version => 0) AS bob_version;

\echo
\echo '== 2. Deposits and withdrawals, with correlation metadata'
SELECT eventstore.append('account-alice', 'MoneyDeposited', '{"amount": 500}', '{"correlation_id": "salary-2026-11"}');
SELECT eventstore.append('account-alice', 'MoneyWithdrawn', '{"amount": 120}', '{"correlation_id": "rent-2026-11"}');
SELECT eventstore.append_batch('account-bob', ARRAY[
    ROW(NULL, 'MoneyDeposited', '{"amount": 300}', '{"correlation_id": "gift"}', NULL, NULL),
    ROW(NULL, 'MoneyWithdrawn', '{"amount": 45}',  '{"correlation_id": "groceries"}', NULL, NULL)
]::eventstore.new_event[]) AS bob_version_after_batch;

\echo
\echo '== 3. Optimistic concurrency: two tellers both read Alice at version 3'
SELECT eventstore.stream_version('account-alice') AS version_both_tellers_saw;
\echo 'Teller 1 withdraws 50 expecting version 3: succeeds'
SELECT eventstore.append('account-alice', 'MoneyWithdrawn', '{"amount": 50}', expected_version => 3) AS new_version;
\echo 'Teller 2 withdraws 400 expecting version 3: refused with ES001, nothing stored'
SELECT eventstore.append('account-alice', 'MoneyWithdrawn', '{"amount": 400}', expected_version => 3);
SELECT eventstore.stream_version('account-alice') AS alice_version_still;

\echo
\echo '== 4. Idempotent retry: a transfer sent twice with the same event id is stored once'
SELECT eventstore.append('account-bob', 'MoneyDeposited', '{"amount": 25, "from": "account-alice"}',
                         event_id => 'a1b2c3d4-0000-4000-8000-00000000f001') AS first_send;
SELECT eventstore.append('account-bob', 'MoneyDeposited', '{"amount": 25, "from": "account-alice"}',
                         event_id => 'a1b2c3d4-0000-4000-8000-00000000f001') AS retry_returns_same_version;
\echo 'The same id with other content is refused with ES002:'
SELECT eventstore.append('account-bob', 'MoneyDeposited', '{"amount": 9999}',
                         event_id => 'a1b2c3d4-0000-4000-8000-00000000f001');

\echo
\echo '== 5. Balances folded from the streams (read_stream)'
SELECT s.stream_id AS account,
       sum(CASE r.event_type WHEN 'MoneyDeposited' THEN (r.data->>'amount')::numeric
                             WHEN 'MoneyWithdrawn' THEN -(r.data->>'amount')::numeric ELSE 0 END) AS balance,
       max(r.stream_version) AS version
FROM eventstore.streams s, eventstore.read_stream(s.stream_id) r
GROUP BY s.stream_id ORDER BY 1;

\echo
\echo '== 6. The global order: the worker sequenced every committed event (read_all)'
SELECT eventstore.wait_for_position((SELECT count(*) FROM eventstore.events), '10 seconds') AS all_sequenced;
SELECT global_position, stream_id, stream_version, event_type, data, left(encode(hash, 'hex'), 16) || '…' AS hash
FROM eventstore.read_all();
\echo 'One category (read_category):'
SELECT global_position, stream_id, event_type FROM eventstore.read_category('account', 4, 3);

\echo
\echo '== 7. Read models for analysts: two projections the worker keeps up to date'
\echo 'Tables live in a schema per projection; handler code lives elsewhere (a rebuild replaces a whole schema).'
CREATE SCHEMA bank_code;
CREATE SCHEMA balances;
CREATE TABLE balances.accounts (account text PRIMARY KEY, balance numeric NOT NULL, events bigint NOT NULL);
CREATE SCHEMA daily_totals;
CREATE TABLE daily_totals.days (day date NOT NULL, event_type text NOT NULL, amount numeric NOT NULL,
                                PRIMARY KEY (day, event_type));
\echo 'balances: set-based SQL over each batch of events (the relation "batch"), accounts only:'
SELECT eventstore.create_projection('balances', categories => ARRAY['account'], sql => $$
    INSERT INTO accounts AS a
    SELECT stream_id,
           sum(CASE event_type WHEN 'MoneyDeposited' THEN (data->>'amount')::numeric
                               WHEN 'MoneyWithdrawn' THEN -(data->>'amount')::numeric ELSE 0 END),
           count(*)
    FROM batch GROUP BY stream_id
    ON CONFLICT (account) DO UPDATE SET balance = a.balance + excluded.balance, events = a.events + excluded.events$$);
\echo 'daily_totals: a PL/pgSQL handler called once per event -- with a bug: withdrawals counted twice'
CREATE FUNCTION bank_code.add_to_day(e eventstore.event_record) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF e.event_type IN ('MoneyDeposited', 'MoneyWithdrawn') THEN
        INSERT INTO days AS d VALUES (e.event_time::date, e.event_type,
            (e.data->>'amount')::numeric * CASE e.event_type WHEN 'MoneyWithdrawn' THEN 2 ELSE 1 END)
        ON CONFLICT (day, event_type) DO UPDATE SET amount = d.amount + excluded.amount;
    END IF;
END
$$;
SELECT eventstore.create_projection('daily_totals', 'bank_code.add_to_day(eventstore.event_record)',
                                    event_types => ARRAY['MoneyDeposited', 'MoneyWithdrawn']);
SELECT eventstore.wait_for_projection(name, (SELECT max(global_position) FROM eventstore.log_positions), '10 seconds') AS caught_up, name
FROM eventstore.projections ORDER BY name;
\echo 'Plain SQL for analysts (the same balances as folding the streams in step 5):'
SELECT account, balance, events FROM balances.accounts ORDER BY 1;
SELECT day, event_type, amount FROM daily_totals.days ORDER BY 1, 2;
SELECT name, state, "position", lag_events, lag_seconds FROM eventstore.projection_status ORDER BY name;

\echo
\echo '== 8. The handler bug is fixed and the read model rebuilt, while appends go on'
CREATE OR REPLACE FUNCTION bank_code.add_to_day(e eventstore.event_record) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO days AS d VALUES (e.event_time::date, e.event_type, (e.data->>'amount')::numeric)
    ON CONFLICT (day, event_type) DO UPDATE SET amount = d.amount + excluded.amount;
END
$$;
SELECT eventstore.rebuild_projection('daily_totals');
SELECT state, rebuild_position FROM eventstore.projection_status WHERE name = 'daily_totals';
\echo 'Appends go on meanwhile; the live read model stays queryable and current:'
SELECT eventstore.append('account-alice', 'MoneyDeposited', '{"amount": 70}') AS alice_version;
SELECT eventstore.append('account-bob', 'MoneyWithdrawn', '{"amount": 30}') AS bob_version;
DO $$
BEGIN
    FOR attempt IN 1..200 LOOP
        EXIT WHEN (SELECT state = 'running' FROM eventstore.projection_status WHERE name = 'daily_totals');
        COMMIT;  -- no old snapshot left open: the switch waits for those
        PERFORM pg_sleep(0.05);
        COMMIT;
    END LOOP;
END
$$;
SELECT eventstore.wait_for_projection(name, (SELECT max(global_position) FROM eventstore.log_positions), '10 seconds') AS caught_up, name
FROM eventstore.projections ORDER BY name;
\echo 'Rebuilt from the whole log with the fixed handler, switched in atomically:'
SELECT day, event_type, amount FROM daily_totals.days ORDER BY 1, 2;
SELECT account, balance, events FROM balances.accounts ORDER BY 1;
SELECT name, state, "position", lag_events, rebuild_position FROM eventstore.projection_status ORDER BY name;

\echo
\echo '== 9. Point-in-time state: an aggregate folds an account stream at any moment, on two time axes'
CREATE FUNCTION bank_code.account_state(state jsonb, e eventstore.event_record) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT state || jsonb_build_object(
        'balance', (state->>'balance')::numeric
                   + CASE e.event_type WHEN 'MoneyDeposited' THEN (e.data->>'amount')::numeric
                                       WHEN 'MoneyWithdrawn' THEN -(e.data->>'amount')::numeric ELSE 0 END,
        'events', (state->>'events')::int + 1)
$$;
SELECT eventstore.create_aggregate('account', 'bank_code.account_state(jsonb, eventstore.event_record)',
                                   '{"balance": 0, "events": 0}', snapshot_every => 2);
\echo 'Carol banks with us since October (event_time is when it happened):'
SELECT eventstore.append('account-carol', 'AccountOpened', '{"owner": "Carol"}', event_time => '2026-10-01 09:00+00') AS v;
SELECT eventstore.append('account-carol', 'MoneyDeposited', '{"amount": 1000}', event_time => '2026-10-05 10:00+00') AS v;
SELECT eventstore.append('account-carol', 'MoneyWithdrawn', '{"amount": 200}', event_time => '2026-10-20 10:00+00') AS v;
SELECT eventstore.append('account-carol', 'MoneyDeposited', '{"amount": 300}', event_time => '2026-11-10 10:00+00') AS v;
SELECT eventstore.wait_for_position((SELECT count(*) FROM eventstore.events), '10 seconds') AS sequenced;
SELECT clock_timestamp() AS before_late_fee \gset
\echo 'Today an October fee is posted late, dated back to 31 October:'
SELECT eventstore.append('account-carol', 'MoneyWithdrawn', '{"amount": 15, "reason": "October fee, posted late"}',
                         event_time => '2026-10-31 23:00+00') AS v;
SELECT eventstore.wait_for_position((SELECT count(*) FROM eventstore.events), '10 seconds') AS sequenced;
\echo 'Carol''s balance now, at the end of October, and at the end of October as we knew it before the fee arrived:'
SELECT 'now' AS question, state->>'balance' AS balance, version FROM eventstore.load_state('account-carol')
UNION ALL
SELECT 'as of 31 October', state->>'balance', version
FROM eventstore.load_state('account-carol', as_of => '2026-10-31 23:59:59+00')
UNION ALL
SELECT 'as of 31 October, as known before the late fee', state->>'balance', version
FROM eventstore.load_state('account-carol', as_of => '2026-10-31 23:59:59+00', as_known_at => :'before_late_fee');
\echo 'The worker keeps snapshots every 2 events; load_state starts from the newest one that answers the question:'
DO $$
BEGIN
    FOR attempt IN 1..100 LOOP
        EXIT WHEN (SELECT count(*) >= 2 FROM eventstore.snapshots WHERE stream_id = 'account-carol');
        COMMIT;
        PERFORM pg_sleep(0.05);
    END LOOP;
END
$$;
SELECT stream_id, version, max_event_time, state FROM eventstore.snapshots
WHERE stream_id = 'account-carol' ORDER BY version;

\echo
\echo '== 10. Period close: the branches'' deposits are booked by month; last month is closed, then a late deposit arrives'
\echo 'Two branches recorded their deposits all last month (event_time = when the money came in):'
SELECT date_trunc('month', now()) - interval '1 month' AS last_month, date_trunc('month', now()) AS this_month \gset
SELECT eventstore.append('branch-lisbon', 'DepositReceived', jsonb_build_object('amount', 1200, 'teller', 'Ana'),
                         event_time => :'last_month'::timestamptz + interval '3 days 10 hours') AS v;
SELECT eventstore.append('branch-lisbon', 'DepositReceived', jsonb_build_object('amount', 800, 'teller', 'Rui'),
                         event_time => :'last_month'::timestamptz + interval '17 days 15 hours') AS v;
SELECT eventstore.append('branch-porto', 'DepositReceived', jsonb_build_object('amount', 450, 'teller', 'Eva'),
                         event_time => :'last_month'::timestamptz + interval '9 days 11 hours') AS v;
\echo 'Monthly periods for the branch category: soft-closed 3 days after month end, closed at the latest 45 days after;'
\echo 'amounts at data.amount.  The policy counts the category''s past into its books at once.'
SELECT eventstore.set_period_policy('branch', 'month', 'UTC', soft_close_after => '3 days', max_delay => '45 days',
                                    amount_path => '{amount}');
\echo 'Accounting closes last month now, before max_delay would:'
SELECT eventstore.close_period('branch', :'last_month', 'month-end close, signed off by the controller');
CREATE PROCEDURE pg_temp.wait_for_books() LANGUAGE plpgsql AS $$
BEGIN
    PERFORM eventstore.wait_for_position((SELECT count(*) FROM eventstore.events), '10 seconds');
    FOR attempt IN 1..200 LOOP
        EXIT WHEN (SELECT counted_through >= (SELECT max(global_position) FROM eventstore.log_positions)
                   FROM eventstore.period_books_state);
        COMMIT;
        PERFORM pg_sleep(0.05);
    END LOOP;
END
$$;
CALL pg_temp.wait_for_books();
SELECT category, period_start::date, period_end::date, state, closed_at IS NOT NULL AS closed, close_position,
       left(encode(close_hash, 'hex'), 16) || '…' AS close_hash, late_events, open_exceptions
FROM eventstore.periods WHERE category = 'branch' ORDER BY period_start;
\echo 'Porto''s branch was offline: a deposit from last month arrives today.  It is stored (never refused, the hash'
\echo 'chain intact) but not counted in the closed month: it lands in the exception queue as pending.'
SELECT eventstore.append('branch-porto', 'DepositReceived', jsonb_build_object('amount', 275, 'teller', 'Eva'),
                         event_time => :'last_month'::timestamptz + interval '27 days 16 hours') AS v;
SELECT id, stream_id, stream_version, event_time, period_start::date, arrived_in, status FROM eventstore.late_events;
\echo 'The controller posts it to the open period: a CorrectionApplied event in the branch stream, caused by the late one.'
SELECT eventstore.resolve_late_event(id, 'post_to_open_period', 'Porto offline 3 days; booked as prior-period adjustment')
       AS correction_version
FROM eventstore.late_events WHERE stream_id = 'branch-porto';
SELECT stream_version, event_type, event_time::date, data->'original_data' AS original_data,
       data->>'original_period_start' AS original_period
FROM eventstore.read_stream('branch-porto') WHERE event_type = 'CorrectionApplied';
CALL pg_temp.wait_for_books();
\echo 'Real time: every deposit by when it happened (the late one in last month); counted: what each month books now:'
SELECT period_start::date, state, events, amount, counted_events, counted_amount, late_events, open_exceptions
FROM eventstore.period_totals WHERE category = 'branch' ORDER BY period_start;
\echo 'As closed: exactly what last month counted at its close, reproducible from close_position and close_hash:'
SELECT period_start::date, closed_at::date, close_position, events, amount FROM eventstore.period_totals_as_closed
WHERE category = 'branch';
\echo 'Corrections: the late deposit, its resolution, and where the correction was booked:'
SELECT period_start::date AS late_for, stream_id, amount, status, action, note, resolved_by, correction_version,
       correction_period_start::date AS booked_in
FROM eventstore.period_corrections WHERE category = 'branch';
\echo 'Every change of a period is itself an event of the hash-chained log ($period-branch):'
SELECT stream_version, event_type, data->>'to_state' AS to_state, data->>'reason' AS reason, data->>'by' AS by
FROM eventstore.read_stream('$period-branch');

\echo
\echo '== 11. The worker family'
SELECT job, pid IS NOT NULL AS running, state, database, "position", last_error FROM eventstore.worker_status ORDER BY job;

\echo
\echo '== 12. Kafka: the worker publishes every sequenced event, and the outbox'
\echo 'A statement notice goes out only because its transaction commits; the rolled-back one never does:'
BEGIN;
SELECT eventstore.publish('bank.notices', 'account-alice', '{"text": "Your November statement is ready"}', '{"channel": "email"}') AS outbox_id;
COMMIT;
BEGIN;
SELECT eventstore.publish('bank.notices', 'account-bob', '{"text": "this one is rolled back"}') AS outbox_id;
ROLLBACK;
\echo 'Waiting for Kafka to acknowledge everything:'
DO $$
BEGIN
    FOR attempt IN 1..200 LOOP
        EXIT WHEN (SELECT published_position = sequenced_position AND pending_messages = 0
                   FROM eventstore.outbox_status);
        PERFORM pg_sleep(0.1);
    END LOOP;
END
$$;
SELECT state, published_position, sequenced_position, pending_events, pending_messages, dead_letters, last_error
FROM eventstore.outbox_status;

\echo
\echo '== 13. Tamper-evidence: verify_all recomputes every hash and the ledger'
SELECT * FROM eventstore.verify_all();
\echo 'The log is append-only, even for a superuser:'
UPDATE eventstore.events SET data = '{"amount": 1000000}' WHERE stream_id = 'account-bob' AND stream_version = 2;
\echo 'A superuser who disables the guard is caught at the exact version:'
SET session_replication_role = replica;
UPDATE eventstore.events SET data = '{"amount": 1000000}' WHERE stream_id = 'account-bob' AND stream_version = 2;
RESET session_replication_role;
SELECT stream_id, ok, first_bad_version, left(detail, 60) AS detail FROM eventstore.verify_all();
