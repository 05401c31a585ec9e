-- plain_hot.sql — baseline of append_expected.sql: the same plain INSERT
-- into a random hot stream.  Clients share the streams, so versions come from
-- one sequence (unique, never a conflict: plain INSERT has no concurrency
-- check to lose).
\set s random(1, :streams)
INSERT INTO bench.plain_events (stream_id, stream_version, event_id, event_type, schema_version,
                                data, metadata, event_time, ingest_time, hash, xid, insert_seq)
VALUES (:tag::text || '-' || :s, nextval('bench.plain_version_seq'), gen_random_uuid(), 'Deposited', 1,
        :payload::jsonb, NULL, now(), clock_timestamp(), decode(repeat('ab', 32), 'hex'),
        pg_current_xact_id(), nextval('bench.plain_insert_seq'));
