-- The log is append-only for everyone, the owner and superusers included.
UPDATE eventstore.events SET data = '{}' WHERE stream_id = 'account-1';
DELETE FROM eventstore.events WHERE stream_id = 'account-1';
TRUNCATE eventstore.events;
UPDATE eventstore.streams SET version = 99;
DELETE FROM eventstore.streams;
TRUNCATE eventstore.streams;
UPDATE eventstore.log_positions SET global_position = 0;
DELETE FROM eventstore.log_positions;
TRUNCATE eventstore.log_positions;
-- The guard function cannot be called directly.
SELECT eventstore.log_guard();
-- Nothing changed.
SELECT * FROM eventstore.verify_stream('account-1');
