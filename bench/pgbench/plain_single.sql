-- plain_single.sql — baseline of append_single.sql: the same row, one plain
-- INSERT per transaction into bench.plain_events (same columns and indexes).
-- :v counts this client's transactions, so versions are 1, 2, 3 ... per
-- stream as the store would give them.  The hash column gets a constant: the
-- baseline stores a hash, it does not compute one.
\set v :v + 1
INSERT INTO bench.plain_events (stream_id, stream_version, event_id, event_type, schema_version,
                                data, metadata, event_time, ingest_time, hash, xid, insert_seq)
VALUES (:tag::text || '-' || :client_id, :v, gen_random_uuid(), 'Deposited', 1,
        :payload::jsonb, NULL, now(), clock_timestamp(), decode(repeat('ab', 32), 'hex'),
        pg_current_xact_id(), nextval('bench.plain_insert_seq'));
