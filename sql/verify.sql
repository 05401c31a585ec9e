-- verify_stream / verify_all recompute every hash from the stored fields.
SELECT * FROM eventstore.verify_stream('account-1');
SELECT * FROM eventstore.verify_stream('no-such-stream');
SELECT ok, detail ~ '^\d+ streams, \d+ events verified$' AS summary FROM eventstore.verify_all();

-- The chain links versions: each hash covers the previous one.
SELECT e2.hash = eventstore.event_hash(e2.stream_id, e2.stream_version, e2.event_id, e2.event_type,
           e2.schema_version, e2.event_time, e2.data, e2.metadata, e1.hash) AS linked
FROM eventstore.events e1 JOIN eventstore.events e2
  ON e2.stream_id = e1.stream_id AND e2.stream_version = e1.stream_version + 1
WHERE e1.stream_id = 'account-1' AND e1.stream_version = 1;
-- Version 1 chains onto 32 zero bytes; NULL previous_hash means the same.
SELECT eventstore.event_hash('s', 1, '00000000-0000-4000-8000-000000000000', 'T', 1, '2026-01-01 00:00+00', '{}', NULL, NULL)
     = eventstore.event_hash('s', 1, '00000000-0000-4000-8000-000000000000', 'T', 1, '2026-01-01 00:00+00', '{}', NULL,
                             decode(repeat('00', 32), 'hex')) AS genesis;
SELECT eventstore.event_hash('s', 1, '00000000-0000-4000-8000-000000000000', 'T', 1, '2026-01-01 00:00+00', '{}', NULL, '\x00');

-- Tampering with the guard disabled (superuser only) is found at the exact version.
SELECT eventstore.append_batch('tamper-1',
    array_agg(ROW(NULL, 'Step', jsonb_build_object('step', g), NULL, NULL, NULL)::eventstore.new_event ORDER BY g))
FROM generate_series(1, 5) g;
SELECT eventstore.wait_for_position((SELECT count(*) FROM eventstore.events), '30 seconds') AS sequenced;
SET session_replication_role = replica;
UPDATE eventstore.events SET data = '{"step": 333}' WHERE stream_id = 'tamper-1' AND stream_version = 3;
RESET session_replication_role;
SELECT stream_id, ok, first_bad_version, detail ~ '^hash mismatch at version 3' AS mismatch
FROM eventstore.verify_stream('tamper-1');
SELECT stream_id, ok, first_bad_version FROM eventstore.verify_all();

-- A deleted event is reported as the missing version.
SELECT eventstore.append_batch('tamper-2',
    array_agg(ROW(NULL, 'Step', jsonb_build_object('step', g), NULL, NULL, NULL)::eventstore.new_event ORDER BY g))
FROM generate_series(1, 5) g;
SELECT eventstore.wait_for_position((SELECT count(*) FROM eventstore.events), '30 seconds') AS sequenced;
SET session_replication_role = replica;
DELETE FROM eventstore.events WHERE stream_id = 'tamper-2' AND stream_version = 4;
RESET session_replication_role;
SELECT * FROM eventstore.verify_stream('tamper-2');

-- A truncated tail is caught by the stream head.
SELECT eventstore.append_batch('tamper-3',
    array_agg(ROW(NULL, 'Step', jsonb_build_object('step', g), NULL, NULL, NULL)::eventstore.new_event ORDER BY g))
FROM generate_series(1, 5) g;
SELECT eventstore.wait_for_position((SELECT count(*) FROM eventstore.events), '30 seconds') AS sequenced;
SET session_replication_role = replica;
DELETE FROM eventstore.events WHERE stream_id = 'tamper-3' AND stream_version = 5;
RESET session_replication_role;
SELECT * FROM eventstore.verify_stream('tamper-3');

-- A changed hash breaks the link to the next version.
SELECT eventstore.append_batch('tamper-4',
    array_agg(ROW(NULL, 'Step', jsonb_build_object('step', g), NULL, NULL, NULL)::eventstore.new_event ORDER BY g))
FROM generate_series(1, 3) g;
SELECT eventstore.wait_for_position((SELECT count(*) FROM eventstore.events), '30 seconds') AS sequenced;
SET session_replication_role = replica;
UPDATE eventstore.events SET hash = decode(repeat('ab', 32), 'hex') WHERE stream_id = 'tamper-4' AND stream_version = 2;
RESET session_replication_role;
SELECT stream_id, ok, first_bad_version FROM eventstore.verify_stream('tamper-4');

SELECT stream_id, ok, first_bad_version FROM eventstore.verify_all() ORDER BY stream_id;

-- A stored category must be the stream id's: one changed by hand would hide
-- the stream from read_category and reroute it in Kafka.
SELECT max(global_position) AS position_before FROM eventstore.log_positions \gset
SELECT eventstore.append('relabel-1', 'Happened', '{}');
SELECT eventstore.wait_for_position(:position_before + 1, '30 seconds') AS sequenced;
SET session_replication_role = replica;
UPDATE eventstore.log_positions SET category = 'other' WHERE stream_id = 'relabel-1';
RESET session_replication_role;
SELECT * FROM eventstore.verify_stream('relabel-1');
SET session_replication_role = replica;
UPDATE eventstore.streams SET category = 'other' WHERE stream_id = 'relabel-1';
RESET session_replication_role;
SELECT stream_id, ok, first_bad_version, detail FROM eventstore.verify_all() WHERE stream_id = 'relabel-1';

-- A row pointer the reads would follow (log_positions.event_row) that does
-- not point at its position's event is reported too.
SELECT max(global_position) AS position_before FROM eventstore.log_positions \gset
SELECT eventstore.append('repoint-1', 'Happened', '{}');
SELECT eventstore.append('repoint-1', 'Happened', '{}');
SELECT eventstore.wait_for_position(:position_before + 2, '30 seconds') AS sequenced;
SELECT count(*) AS bad_pointers FROM eventstore.check_event_rows();
SET session_replication_role = replica;
UPDATE eventstore.log_positions SET event_row = (SELECT event_row FROM eventstore.log_positions
                                                 WHERE stream_id = 'repoint-1' AND stream_version = 1)
WHERE stream_id = 'repoint-1' AND stream_version = 2;
RESET session_replication_role;
SELECT stream_id, ok, first_bad_version, detail ~ '^global position \d+ points at row \(\d+,\d+\), which is version 1 of stream "repoint-1"$' AS names_the_row
FROM eventstore.verify_all() WHERE stream_id = 'repoint-1';

-- The ledger chains the global order: a tampered ledger hash or a removed
-- position is reported with the first bad global position.
SELECT eventstore.wait_for_position((SELECT count(*) FROM eventstore.events), '30 seconds') AS sequenced;
SELECT count(*) FROM eventstore.check_ledger();
SET session_replication_role = replica;
UPDATE eventstore.log_positions SET ledger_hash = decode(repeat('cd', 32), 'hex') WHERE global_position = 5;
RESET session_replication_role;
SELECT * FROM eventstore.check_ledger();
SELECT stream_id, ok, first_bad_version, detail FROM eventstore.verify_all() WHERE stream_id IS NULL;
SET session_replication_role = replica;
DELETE FROM eventstore.log_positions WHERE global_position = 3;
RESET session_replication_role;
SELECT * FROM eventstore.check_ledger();
