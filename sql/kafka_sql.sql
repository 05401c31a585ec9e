-- The SQL side of Kafka publishing, with no broker configured: publishing
-- is off, events wait, and every function validates its input.

-- No bootstrap servers: the publisher reports "disabled" and nothing is lost.
SHOW pg_eventstore.kafka_bootstrap_servers;
SHOW pg_eventstore.kafka_topic;
SELECT eventstore.append('ledger-7', 'Posted', '{"amount": 5}', event_id => '00000000-0000-0000-0000-0000000000a1',
                         event_time => '2026-11-01 10:00:00+00',
                         metadata => '{"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}');
SELECT eventstore.wait_for_position((SELECT count(*) FROM eventstore.events), '30 seconds') AS sequenced;
SELECT state, published_position, pending_events = sequenced_position AS everything_pending,
       pending_messages, dead_letters, oldest_pending_age IS NOT NULL AS has_age
FROM eventstore.outbox_status;

-- The Kafka form of an event: key = stream id, CloudEvents + es_* headers.
SELECT topic, key, payload FROM eventstore.event_messages WHERE event_id = '00000000-0000-0000-0000-0000000000a1';
SELECT h.key, h.value FROM eventstore.event_messages m, jsonb_each_text(m.headers) h
WHERE m.event_id = '00000000-0000-0000-0000-0000000000a1' AND h.key NOT IN ('es_global_position', 'es_hash')
ORDER BY h.key;
SELECT m.headers ->> 'es_hash' = encode(e.hash, 'hex') AS hash_header_matches,
       (m.headers ->> 'es_global_position')::bigint = m.global_position AS position_header_matches
FROM eventstore.event_messages m JOIN eventstore.events e USING (event_id)
WHERE m.event_id = '00000000-0000-0000-0000-0000000000a1';

-- Routes: a category's events go to its topic; others to kafka_topic.
SELECT eventstore.add_route('ledger', 'finance.ledger');
SELECT topic FROM eventstore.event_messages WHERE key = 'ledger-7';
SELECT eventstore.add_route('ledger', 'finance.ledger.v2');   -- replaces
SELECT category, topic FROM eventstore.kafka_routes;
SELECT eventstore.remove_route('ledger'), eventstore.remove_route('ledger') IS NULL AS second_time_nothing;
SELECT topic FROM eventstore.event_messages WHERE key = 'ledger-7';
SELECT test_error($$SELECT eventstore.add_route('ledger-x', 'ok')$$);
SELECT test_error($$SELECT eventstore.add_route('', 'ok')$$);
SELECT test_error($$SELECT eventstore.add_route(NULL, 'ok')$$);
SELECT test_error($$SELECT eventstore.add_route('ledger', 'bad topic')$$);
SELECT left(test_error($$SELECT eventstore.add_route('ledger', repeat('t', 250))$$), 14) AS too_long_topic;
SELECT test_error($$SELECT eventstore.add_route('ledger', '..')$$);
SELECT count(*) AS routes_after_errors FROM eventstore.kafka_routes;

-- publish(): a message in the outbox, sent only if the transaction commits.
SELECT eventstore.publish('notifications', 'customer-42', '{"text": "statement ready"}', '{"priority": "high", "attempt": 1}') > 0 AS enqueued;
BEGIN;
SELECT eventstore.publish('notifications', 'customer-43', '{"text": "rolled back"}') > 0 AS enqueued;
ROLLBACK;
SELECT topic, key, payload, headers FROM eventstore.outbox ORDER BY message_id;
SELECT test_error($$SELECT eventstore.publish(NULL, 'k', '{}')$$);
SELECT test_error($$SELECT eventstore.publish('has space', 'k', '{}')$$);
SELECT test_error($$SELECT eventstore.publish('t', 'k', NULL)$$);
SELECT test_error($$SELECT eventstore.publish('t', 'k', '{}', '["not", "an", "object"]')$$);
SELECT test_error($$SELECT eventstore.publish('t', 'k', '{}', '{"nested": {"no": 1}}')$$);
SELECT test_error($$SELECT eventstore.publish('t', 'k', jsonb_build_object('blob', repeat('z', 1100000)))$$);
SELECT eventstore.publish('t', NULL, '[1, 2]') > 0 AS null_key_and_array_payload_accepted;
SELECT count(*) AS outbox_rows FROM eventstore.outbox;
SELECT pending_messages FROM eventstore.outbox_status;

-- Dead letters are re-driven through the outbox, optionally to another topic.
INSERT INTO eventstore.dead_letters (source, global_position, event_id, topic, key, payload, headers, error_code, error)
SELECT 'event', global_position, event_id, topic, key, payload, headers, 'MSG_SIZE_TOO_LARGE', 'Broker: Message size too large'
FROM eventstore.event_messages WHERE key = 'ledger-7';
SELECT dead_letters FROM eventstore.outbox_status;
SELECT test_error($$SELECT eventstore.redrive_dead_letters(NULL, 'bad topic!')$$);
SELECT count(*) AS still_dead FROM eventstore.dead_letters;
SELECT eventstore.redrive_dead_letters(ARRAY[-1]) AS unknown_id_moves_nothing;
SELECT eventstore.redrive_dead_letters(topic => 'finance.ledger.retry') AS moved;
SELECT count(*) AS dead_after FROM eventstore.dead_letters;
SELECT topic, key, headers ->> 'ce_id' AS ce_id FROM eventstore.outbox WHERE topic = 'finance.ledger.retry';
DELETE FROM eventstore.outbox;

-- kafka_config may hold secrets: only superusers read it; bad values are refused.
\set VERBOSITY default
ALTER SYSTEM SET pg_eventstore.kafka_config = 'acks=1';
ALTER SYSTEM SET pg_eventstore.kafka_config = 'enable.idempotence=false';
ALTER SYSTEM SET pg_eventstore.kafka_config = 'linger.ms=20; message.timeout.ms=30000';
ALTER SYSTEM SET pg_eventstore.kafka_config = 'linger.ms';
\set VERBOSITY terse
CREATE ROLE kafka_sql_reader LOGIN IN ROLE eventstore_reader;
SET ROLE kafka_sql_reader;
SELECT test_error($$SHOW pg_eventstore.kafka_config$$);
SELECT count(*) AS kafka_config_visible FROM pg_settings WHERE name = 'pg_eventstore.kafka_config';
SELECT test_error($$SELECT eventstore.publish('t', 'k', '{}')$$);
SELECT test_error($$SELECT eventstore.add_route('ledger', 'x')$$);
SELECT state FROM eventstore.outbox_status;
RESET ROLE;
DROP ROLE kafka_sql_reader;
