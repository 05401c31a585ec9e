-- plain_events.sql — the "plain INSERT" baseline table.
--
-- bench.plain_events has the columns, constraints and indexes of
-- eventstore.events (LIKE ... INCLUDING ALL copies them: primary key
-- (stream_id, stream_version), UNIQUE (event_id), the index on xid), and none
-- of its triggers, stream heads, hash chain or sequencer: it is what storing
-- the same rows costs PostgreSQL itself.  The pgbench scripts plain_*.sql
-- insert into it with comparable values: gen_random_uuid(), a version from a
-- per-client counter (or a sequence where clients share streams), now(),
-- clock_timestamp(), a 32-byte sha256 over the row, pg_current_xact_id() and
-- one nextval per statement (as append takes one insert_seq per call).
CREATE SCHEMA IF NOT EXISTS bench;
CREATE TABLE IF NOT EXISTS bench.plain_events (LIKE eventstore.events INCLUDING ALL);
CREATE SEQUENCE IF NOT EXISTS bench.plain_insert_seq AS bigint CACHE 1;
-- Versions for streams that several clients share (hot_streams).
CREATE SEQUENCE IF NOT EXISTS bench.plain_version_seq AS bigint CACHE 1;
