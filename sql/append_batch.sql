-- eventstore.append_batch: all or nothing, versions consecutive.
SELECT eventstore.append_batch('order-1', ARRAY[
    ROW('00000000-0000-4000-8000-00000000b001', 'OrderPlaced', '{"total": 10}', '{"by": "web"}', '2026-03-01 10:00+00', 1),
    ROW(NULL, 'ItemAdded', '{"sku": "A"}', NULL, NULL, NULL),
    ROW(NULL, 'ItemAdded', '{"sku": "B"}', NULL, NULL, 2)
]::eventstore.new_event[]);

SELECT stream_version, event_type, schema_version, data, metadata
FROM eventstore.read_stream('order-1');

-- Defaults inside a batch: event_time = transaction start, schema_version = 1.
SELECT count(*) FROM eventstore.events
WHERE stream_id = 'order-1' AND stream_version = 2 AND schema_version = 1 AND event_time <= now();

-- expected_version applies to the whole batch.
SELECT eventstore.append_batch('order-1', ARRAY[
    ROW(NULL, 'OrderShipped', '{}', NULL, NULL, NULL)
]::eventstore.new_event[], expected_version => 3);
SELECT eventstore.append_batch('order-1', ARRAY[
    ROW(NULL, 'OrderShipped', '{}', NULL, NULL, NULL)
]::eventstore.new_event[], expected_version => 3);
SELECT eventstore.stream_version('order-1');

-- A bad event anywhere in the batch stores nothing of it.
SELECT eventstore.append_batch('order-2', ARRAY[
    ROW(NULL, 'OrderPlaced', '{"total": 1}', NULL, NULL, NULL),
    ROW(NULL, 'ItemAdded', '[1, 2]', NULL, NULL, NULL)
]::eventstore.new_event[]);
SELECT eventstore.stream_version('order-2'), count(*) FROM eventstore.events WHERE stream_id = 'order-2';

-- The same event id twice in one batch is rejected.
SELECT eventstore.append_batch('order-2', ARRAY[
    ROW('00000000-0000-4000-8000-00000000b0aa', 'OrderPlaced', '{}', NULL, NULL, NULL),
    ROW('00000000-0000-4000-8000-00000000b0aa', 'OrderPlaced', '{}', NULL, NULL, NULL)
]::eventstore.new_event[]);

-- A large batch keeps order and the chain.
SELECT eventstore.append_batch('bulk-1',
    array_agg(ROW(NULL, 'Tick', jsonb_build_object('n', g), NULL, NULL, NULL)::eventstore.new_event ORDER BY g))
FROM generate_series(1, 500) g;
SELECT bool_and((data->>'n')::int = stream_version) AS in_order, count(*)
FROM eventstore.events WHERE stream_id = 'bulk-1';
SELECT * FROM eventstore.verify_stream('bulk-1');
