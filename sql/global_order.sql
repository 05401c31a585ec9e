-- The worker sequences every committed event: read_all, read_category and
-- wait_for_position see the dense global order.
SELECT eventstore.append('cart-1', 'CartOpened', '{}');
SELECT eventstore.append('cart-2', 'CartOpened', '{}');
SELECT eventstore.append('cart-1', 'ItemAdded', '{"sku": "A"}');
SELECT eventstore.wait_for_position((SELECT count(*) FROM eventstore.events), '30 seconds') AS sequenced;

-- Positions are dense 1..N over every committed event.
SELECT count(*) AS positions, min(global_position) AS first, max(global_position) = count(*) AS dense
FROM eventstore.log_positions;
SELECT (SELECT count(*) FROM eventstore.events) = (SELECT count(*) FROM eventstore.log_positions) AS all_sequenced;

-- read_all pages through the log in order.
SELECT bool_and(r.global_position > 0) AS positioned, count(*)
FROM eventstore.read_all(0, 10000) r;
SELECT global_position FROM eventstore.read_all(2, 3);
SELECT stream_id, stream_version, event_type
FROM eventstore.read_all((SELECT max(global_position) - 3 FROM eventstore.log_positions));

-- Within each stream, positions follow versions.
SELECT bool_and(ordered) AS versions_in_position_order FROM (
    SELECT stream_version > lag(stream_version, 1, 0::bigint) OVER (PARTITION BY stream_id ORDER BY global_position) AS ordered
    FROM eventstore.log_positions) t;

-- read_category: the part of the stream id before the first dash.
SELECT stream_id, stream_version, event_type FROM eventstore.read_category('cart');
SELECT count(*) FROM eventstore.read_category('cart', (SELECT min(global_position) FROM eventstore.log_positions WHERE category = 'cart'));
SELECT count(*) FROM eventstore.read_category('nothing-here');

-- read_stream now shows the global position too.
SELECT global_position IS NOT NULL AS has_position FROM eventstore.read_stream('cart-1');

-- wait_for_position returns false when the timeout passes first.
SELECT eventstore.wait_for_position(1000000000, '50 milliseconds') AS reached;

-- Bad input.
SELECT test_error($$SELECT * FROM eventstore.read_all(-1)$$);
SELECT test_error($$SELECT * FROM eventstore.read_all(0, 0)$$);
SELECT test_error($$SELECT * FROM eventstore.read_all(NULL)$$);
SELECT test_error($$SELECT * FROM eventstore.read_category(NULL)$$);
SELECT test_error($$SELECT * FROM eventstore.read_category('cart', -5)$$);
SELECT test_error($$SELECT * FROM eventstore.read_category('cart', 0, -1)$$);
SELECT test_error($$SELECT eventstore.wait_for_position(1, '-1 second')$$);
SELECT test_error($$SELECT eventstore.wait_for_position(NULL, '1 second')$$);

-- The worker family reports itself: one row per process.
SELECT job, pid IS NOT NULL AS running, state IN ('idle', 'working', 'running') AS state_ok, database,
       last_error IS NULL AS no_error, sequencer_snapshot IS NOT NULL AS has_snapshot
FROM eventstore.worker_status ORDER BY job;
SELECT "position" = (SELECT max(global_position) FROM eventstore.log_positions) AS position_ok
FROM eventstore.worker_status WHERE job = 'sequencer';
-- Each job is its own process.
SELECT count(DISTINCT pid) AS processes FROM eventstore.worker_status;
