-- The event id is the idempotency key.
SELECT eventstore.append('pay-1', 'PaymentReceived', '{"amount": 5}',
    event_id => '00000000-0000-4000-8000-00000000c001');
-- A retry of the same call returns the stored version and stores nothing new.
SELECT eventstore.append('pay-1', 'PaymentReceived', '{"amount": 5}',
    event_id => '00000000-0000-4000-8000-00000000c001');
SELECT count(*) FROM eventstore.events WHERE stream_id = 'pay-1';

-- The idempotency check comes before the expected-version check: a client that
-- lost the reply and retries with the same expected version gets success.
SELECT eventstore.append('pay-1', 'PaymentReceived', '{"amount": 7}', expected_version => 1,
    event_id => '00000000-0000-4000-8000-00000000c002');
SELECT eventstore.append('pay-1', 'PaymentReceived', '{"amount": 7}', expected_version => 1,
    event_id => '00000000-0000-4000-8000-00000000c002');
SELECT eventstore.stream_version('pay-1');

-- Metadata may differ on a retry (a new trace id, say); it is still the same event.
SELECT eventstore.append('pay-1', 'PaymentReceived', '{"amount": 7}', '{"traceparent": "retry"}',
    event_id => '00000000-0000-4000-8000-00000000c002');

-- Same id, other content: ES002, naming the stored event.
SELECT eventstore.append('pay-1', 'PaymentReceived', '{"amount": 8}',
    event_id => '00000000-0000-4000-8000-00000000c002');
SELECT eventstore.append('pay-1', 'PaymentRefunded', '{"amount": 7}',
    event_id => '00000000-0000-4000-8000-00000000c002');
SELECT eventstore.append('pay-2', 'PaymentReceived', '{"amount": 7}',
    event_id => '00000000-0000-4000-8000-00000000c002');
SELECT eventstore.stream_version('pay-2');

-- Batches: a retried batch is a no-op returning the stored version.
SELECT eventstore.append_batch('pay-3', ARRAY[
    ROW('00000000-0000-4000-8000-00000000d001', 'A', '{}', NULL, NULL, NULL),
    ROW('00000000-0000-4000-8000-00000000d002', 'B', '{}', NULL, NULL, NULL)
]::eventstore.new_event[], expected_version => 0);
SELECT eventstore.append_batch('pay-3', ARRAY[
    ROW('00000000-0000-4000-8000-00000000d001', 'A', '{}', NULL, NULL, NULL),
    ROW('00000000-0000-4000-8000-00000000d002', 'B', '{}', NULL, NULL, NULL)
]::eventstore.new_event[], expected_version => 0);
SELECT count(*) FROM eventstore.events WHERE stream_id = 'pay-3';

-- A batch mixing a stored id with new events is ES002 and stores nothing.
SELECT eventstore.append_batch('pay-3', ARRAY[
    ROW('00000000-0000-4000-8000-00000000d002', 'B', '{}', NULL, NULL, NULL),
    ROW('00000000-0000-4000-8000-00000000d003', 'C', '{}', NULL, NULL, NULL)
]::eventstore.new_event[]);
-- A batch whose stored id has other content is ES002.
SELECT eventstore.append_batch('pay-3', ARRAY[
    ROW('00000000-0000-4000-8000-00000000d001', 'A', '{"changed": true}', NULL, NULL, NULL),
    ROW('00000000-0000-4000-8000-00000000d002', 'B', '{}', NULL, NULL, NULL)
]::eventstore.new_event[]);
SELECT count(*) FROM eventstore.events WHERE stream_id = 'pay-3';

-- ES002 can be caught by name.
DO $$
BEGIN
    PERFORM eventstore.append('pay-9', 'X', '{}', event_id => '00000000-0000-4000-8000-00000000c001');
EXCEPTION WHEN SQLSTATE 'ES002' THEN
    RAISE NOTICE 'caught ES002';
END
$$;

-- A retried batch whose events partly have no id is still recognised: the
-- identified events are stored, and a batch is all or nothing.
SELECT eventstore.append_batch('pay-4', ARRAY[
    ROW('00000000-0000-4000-8000-00000000e001', 'A', '{}', NULL, NULL, NULL),
    ROW(NULL, 'B', '{}', NULL, NULL, NULL),
    ROW(NULL, 'C', '{}', NULL, NULL, NULL)
]::eventstore.new_event[]);
SELECT eventstore.append_batch('pay-4', ARRAY[
    ROW('00000000-0000-4000-8000-00000000e001', 'A', '{}', NULL, NULL, NULL),
    ROW(NULL, 'B', '{}', NULL, NULL, NULL),
    ROW(NULL, 'C', '{}', NULL, NULL, NULL)
]::eventstore.new_event[]) AS retry_returns_version_after_batch;
SELECT count(*) FROM eventstore.events WHERE stream_id = 'pay-4';
-- Events without an id cannot be compared: a batch of the same length with the
-- same identified events is taken for the retry it looks like.  Give every
-- event an id for exact idempotency.
SELECT eventstore.append_batch('pay-4', ARRAY[
    ROW('00000000-0000-4000-8000-00000000e001', 'A', '{}', NULL, NULL, NULL),
    ROW(NULL, 'D', '{}', NULL, NULL, NULL),
    ROW(NULL, 'E', '{}', NULL, NULL, NULL)
]::eventstore.new_event[]);
-- An id stored by an earlier, different call (here a single append) does not
-- make a new batch a retry.
SELECT eventstore.append('pay-5', 'A', '{}', event_id => '00000000-0000-4000-8000-00000000e005');
SELECT eventstore.append_batch('pay-5', ARRAY[
    ROW('00000000-0000-4000-8000-00000000e005', 'A', '{}', NULL, NULL, NULL),
    ROW(NULL, 'B', '{}', NULL, NULL, NULL)
]::eventstore.new_event[]);
SELECT count(*) FROM eventstore.events WHERE stream_id IN ('pay-4', 'pay-5');
