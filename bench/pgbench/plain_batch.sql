-- plain_batch.sql — baseline of append_batch.sql: one INSERT ... SELECT of
-- :batch rows per transaction, versions continuing per client's stream, one
-- insert sequence number per statement (as append_batch takes one per call).
\set v :v + 1
\set base (:v - 1) * :batch
INSERT INTO bench.plain_events (stream_id, stream_version, event_id, event_type, schema_version,
                                data, metadata, event_time, ingest_time, hash, xid, insert_seq)
SELECT :tag::text || '-' || :client_id, :base::bigint + g, gen_random_uuid(), 'Deposited', 1,
       :payload::jsonb, NULL, now(), clock_timestamp(), decode(repeat('ab', 32), 'hex'),
       pg_current_xact_id(), s.value
FROM generate_series(1, :batch) AS g, (SELECT nextval('bench.plain_insert_seq') AS value) AS s;
