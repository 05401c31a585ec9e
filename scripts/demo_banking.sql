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
\echo '== 7. The worker'
SELECT job, pid IS NOT NULL AS running, state, database, "position", last_error FROM eventstore.worker_status ORDER BY job;

\echo
\echo '== 8. Kafka: the worker publishes every sequenced event, and the outbox'
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
\echo '== 9. Tamper-evidence: verify_all recomputes every hash and the ledger'
SELECT * FROM eventstore.verify_all();
\echo 'The log is append-only, even for a superuser:'
UPDATE eventstore.events SET data = '{"amount": 1000000}' WHERE stream_id = 'account-bob' AND stream_version = 2;
\echo 'A superuser who disables the guard is caught at the exact version:'
SET session_replication_role = replica;
UPDATE eventstore.events SET data = '{"amount": 1000000}' WHERE stream_id = 'account-bob' AND stream_version = 2;
RESET session_replication_role;
SELECT stream_id, ok, first_bad_version, left(detail, 60) AS detail FROM eventstore.verify_all();
