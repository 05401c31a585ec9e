-- diy_event_store.sql — a do-it-yourself event store in PL/pgSQL, the kind
-- teams write before they reach for an extension.  It is the baseline of the
-- diy_store scenario and does the same work per append as ours does:
--
--   * a stream head row locked with SELECT ... FOR UPDATE (created on first
--     use), so appends to one stream serialize;
--   * an optional expected-version check;
--   * a per-stream SHA-256 hash chain with pgcrypto's digest() over the
--     event's fields, its payload and the previous hash;
--   * the event insert (same columns and indexes as a typical events table);
--   * an outbox row, the DIY way of feeding consumers in commit order (ours
--     does that job asynchronously: the sequencer assigns global positions).
CREATE EXTENSION IF NOT EXISTS pgcrypto;
CREATE SCHEMA IF NOT EXISTS diy;

CREATE TABLE IF NOT EXISTS diy.streams (
    stream_id  text PRIMARY KEY,
    version    bigint NOT NULL,
    head_hash  bytea NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS diy.events (
    stream_id      text NOT NULL,
    stream_version bigint NOT NULL,
    event_id       uuid NOT NULL UNIQUE,
    event_type     text NOT NULL,
    data           jsonb NOT NULL,
    metadata       jsonb,
    event_time     timestamptz NOT NULL,
    ingest_time    timestamptz NOT NULL,
    hash           bytea NOT NULL,
    PRIMARY KEY (stream_id, stream_version)
);

CREATE TABLE IF NOT EXISTS diy.outbox (
    id             bigserial PRIMARY KEY,
    event_id       uuid NOT NULL,
    stream_id      text NOT NULL,
    stream_version bigint NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE OR REPLACE FUNCTION diy.append(
    p_stream_id text, p_event_type text, p_data jsonb,
    p_metadata jsonb DEFAULT NULL, p_expected_version bigint DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    current_version bigint;
    previous_hash   bytea;
    new_version     bigint;
    new_event_id    uuid := gen_random_uuid();
    new_hash        bytea;
BEGIN
    SELECT s.version, s.head_hash INTO current_version, previous_hash
    FROM diy.streams s WHERE s.stream_id = p_stream_id FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO diy.streams (stream_id, version, head_hash)
        VALUES (p_stream_id, 0, '\x0000000000000000000000000000000000000000000000000000000000000000')
        ON CONFLICT (stream_id) DO NOTHING;
        SELECT s.version, s.head_hash INTO current_version, previous_hash
        FROM diy.streams s WHERE s.stream_id = p_stream_id FOR UPDATE;
    END IF;

    IF p_expected_version IS NOT NULL AND p_expected_version <> current_version THEN
        RAISE EXCEPTION 'wrong expected version for stream %: expected %, actual %',
            p_stream_id, p_expected_version, current_version USING ERRCODE = 'P0001';
    END IF;

    new_version := current_version + 1;
    new_hash := digest(convert_to(concat_ws(E'\x1f', p_stream_id, new_version, new_event_id, p_event_type,
                                            p_data::text, p_metadata::text), 'UTF8') || previous_hash,
                       'sha256');

    INSERT INTO diy.events (stream_id, stream_version, event_id, event_type, data, metadata,
                            event_time, ingest_time, hash)
    VALUES (p_stream_id, new_version, new_event_id, p_event_type, p_data, p_metadata,
            now(), clock_timestamp(), new_hash);
    UPDATE diy.streams SET version = new_version, head_hash = new_hash, updated_at = now()
    WHERE stream_id = p_stream_id;
    INSERT INTO diy.outbox (event_id, stream_id, stream_version)
    VALUES (new_event_id, p_stream_id, new_version);
    RETURN new_version;
END
$$;
