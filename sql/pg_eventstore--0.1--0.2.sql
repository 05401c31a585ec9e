-- pg_eventstore 0.1 -> 0.2 — upgrade script.
--
-- A fresh CREATE EXTENSION pg_eventstore runs pg_eventstore--0.1.sql and
-- then this script, so a new install and an upgraded one are built by the
-- same statements and cannot drift apart.  docs/upgrading.md says what each
-- change means for a running store.

\echo Use "ALTER EXTENSION pg_eventstore UPDATE TO '0.2'" to load this file. \quit

-- ---------------------------------------------------------------------------
-- The sequencer's lock (docs/security.md, "Nobody without grants can stop a job")
-- ---------------------------------------------------------------------------
-- Sequencer rounds used to serialize on a public advisory-lock key, which any
-- role could take and hold, stopping the global order for everyone.  They now
-- take an EXCLUSIVE lock on this empty table; nobody is granted anything on
-- it, so only its owner and superusers can lock it.
CREATE TABLE eventstore.sequencer_lock ();
COMMENT ON TABLE eventstore.sequencer_lock IS
    'Locked by each sequencer round; never holds rows.  No grants: only the owner can lock it.';
REVOKE ALL ON eventstore.sequencer_lock FROM PUBLIC;

-- ---------------------------------------------------------------------------
-- Bounded reads
-- ---------------------------------------------------------------------------
-- A read builds its whole result before the first row reaches the caller, so
-- max_count bounds the memory (and temporary file) one call can take.  A
-- max_count of 2^31-1 took 0.9 s and a 38 MB temporary file with LIMIT 1 on
-- a 200,000-event log.  Page with after_position / from_version instead.
CREATE OR REPLACE FUNCTION eventstore.check_max_count(max_count integer) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF max_count IS NULL OR max_count <= 0 OR max_count > 10000 THEN
        RAISE EXCEPTION 'max_count must be between 1 and 10000, got %', coalesce(max_count::text, 'NULL')
            USING ERRCODE = '22023',
                  HINT = 'Read a longer stretch page by page: pass the last position (or version) you got.';
    END IF;
END
$$;

-- ---------------------------------------------------------------------------
-- publish(): the key and the headers count toward the size limit
-- ---------------------------------------------------------------------------
-- 0.1 measured only the payload, so a 10 MB key or header was accepted.
CREATE OR REPLACE FUNCTION eventstore.publish(topic text, key text, payload jsonb, headers jsonb DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    new_id bigint;
    message_bytes bigint;
BEGIN
    PERFORM eventstore.checked_topic('topic', topic);
    IF payload IS NULL THEN
        RAISE EXCEPTION 'payload must not be NULL' USING ERRCODE = '22023';
    END IF;
    IF headers IS NOT NULL AND jsonb_typeof(headers) <> 'object' THEN
        RAISE EXCEPTION 'headers must be a JSON object of strings, not %', left(headers::text, 64)
            USING ERRCODE = '22023';
    END IF;
    message_bytes := pg_column_size(payload) + coalesce(octet_length(key), 0)
                     + coalesce(pg_column_size(headers), 0);
    IF message_bytes > pg_size_bytes(current_setting('pg_eventstore.max_event_size')) THEN
        RAISE EXCEPTION 'message is % bytes (payload, key and headers), more than pg_eventstore.max_event_size (%)',
            message_bytes, current_setting('pg_eventstore.max_event_size')
            USING ERRCODE = '54000';
    END IF;
    IF EXISTS (SELECT FROM jsonb_each(coalesce(headers, '{}')) h
               WHERE jsonb_typeof(h.value) IN ('object', 'array', 'null')) THEN
        RAISE EXCEPTION 'headers must be a JSON object of strings, not %', left(headers::text, 64)
            USING ERRCODE = '22023', HINT = 'Header values are strings, numbers or booleans.';
    END IF;
    INSERT INTO eventstore.outbox (topic, key, payload, headers)
    VALUES (topic, key, payload, coalesce(headers, '{}'))
    RETURNING message_id INTO new_id;
    PERFORM eventstore.wake_worker_at_commit();
    RETURN new_id;
END
$$;

-- ---------------------------------------------------------------------------
-- Verification covers categories
-- ---------------------------------------------------------------------------
-- A stream's category is derived from its id, but it is also stored (in
-- streams and log_positions) for read_category and Kafka routing.  A stored
-- category that disagrees with the id hid a stream from read_category and
-- rerouted it in Kafka while verify_all stayed clean.  One problem per stream:
-- its first disagreeing global position, or its head row.
CREATE FUNCTION eventstore.check_categories(only_stream text)
RETURNS TABLE (stream_id text, first_bad_version bigint, detail text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT DISTINCT ON (bad.stream_id) bad.stream_id, bad.version, bad.detail
    FROM (
        SELECT s.stream_id, 0::bigint AS version,
               format('stream head says category "%s" but the stream id''s category is "%s"',
                      s.category, split_part(s.stream_id, '-', 1)) AS detail
        FROM eventstore.streams s
        WHERE (only_stream IS NULL OR s.stream_id = only_stream)
          AND s.category IS DISTINCT FROM split_part(s.stream_id, '-', 1)
        UNION ALL
        SELECT p.stream_id, p.stream_version,
               format('global position %s says category "%s" but the stream id''s category is "%s"',
                      p.global_position, p.category, split_part(p.stream_id, '-', 1))
        FROM eventstore.log_positions p
        WHERE (only_stream IS NULL OR p.stream_id = only_stream)
          AND p.category IS DISTINCT FROM split_part(p.stream_id, '-', 1)
    ) bad
    ORDER BY bad.stream_id, bad.version
$$;

CREATE OR REPLACE FUNCTION eventstore.verify_stream(stream_id text)
RETURNS TABLE (stream_id text, ok boolean, first_bad_version bigint, detail text)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT * FROM eventstore.check_stream_chains(eventstore.required('stream_id', $1))
    WHERE NOT EXISTS (SELECT FROM eventstore.check_categories($1))
    UNION ALL
    SELECT c.stream_id, false, c.first_bad_version, c.detail FROM eventstore.check_categories($1) c
    UNION ALL
    SELECT $1, true, NULL::bigint, 'stream does not exist (version 0)'
    WHERE NOT EXISTS (SELECT FROM eventstore.events e WHERE e.stream_id = $1)
      AND NOT EXISTS (SELECT FROM eventstore.streams s WHERE s.stream_id = $1 AND s.version > 0)
$$;

CREATE OR REPLACE FUNCTION eventstore.verify_all()
RETURNS TABLE (stream_id text, ok boolean, first_bad_version bigint, detail text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    checked_streams bigint := 0;
    checked_events bigint;
    checked_positions bigint;
    problem_found boolean := false;
    r record;
BEGIN
    FOR r IN SELECT * FROM eventstore.check_stream_chains(NULL) LOOP
        checked_streams := checked_streams + 1;
        IF NOT r.ok THEN
            problem_found := true;
            stream_id := r.stream_id; ok := false;
            first_bad_version := r.first_bad_version; detail := r.detail;
            RETURN NEXT;
        END IF;
    END LOOP;
    FOR r IN SELECT * FROM eventstore.check_categories(NULL) LOOP
        problem_found := true;
        stream_id := r.stream_id; ok := false;
        first_bad_version := r.first_bad_version; detail := r.detail;
        RETURN NEXT;
    END LOOP;
    FOR r IN SELECT * FROM eventstore.check_ledger() LOOP
        problem_found := true;
        stream_id := NULL; ok := false;
        first_bad_version := r.first_bad_position; detail := 'ledger: ' || r.detail;
        RETURN NEXT;
    END LOOP;
    SELECT count(*) INTO checked_events FROM eventstore.events;
    SELECT count(*) INTO checked_positions FROM eventstore.log_positions;
    IF NOT problem_found THEN
        stream_id := NULL; ok := true; first_bad_version := NULL;
        detail := format('%s streams, %s events, %s global positions verified',
                         checked_streams, checked_events, checked_positions);
        RETURN NEXT;
    END IF;
END
$$;

REVOKE ALL ON FUNCTION eventstore.check_categories(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION eventstore.check_categories(text) TO eventstore_admin;

-- ---------------------------------------------------------------------------
-- worker_status: one row per process of the worker family
-- ---------------------------------------------------------------------------
-- 0.1 ran every job in one process with one status row.  The jobs now run
-- in their own processes (a launcher starts the sequencer and the Kafka
-- publisher), each with its own state, position and last error.
DROP VIEW eventstore.worker_status;
DROP FUNCTION eventstore.worker_status_row();

CREATE FUNCTION eventstore.job_status_rows(
    OUT job text, OUT pid integer, OUT state text, OUT database text, OUT started_at timestamptz,
    OUT last_loop_at timestamptz, OUT loops bigint, OUT "position" bigint, OUT last_batch_events bigint,
    OUT last_batch_at timestamptz, OUT worker_naptime_ms integer, OUT last_error text,
    OUT last_error_at timestamptz)
RETURNS SETOF record
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'eventstore_job_status';

-- position: the sequencer's highest assigned global position; the
-- publisher's published position.  The last two columns are the same on
-- every row: what the sequencer works from, and the oldest open writing
-- transaction (which holds back the sequencer's snapshot, docs/global-order.md).
CREATE VIEW eventstore.worker_status AS
    SELECT w.*,
           (SELECT s.last_snapshot FROM eventstore.sequencer_state s) AS sequencer_snapshot,
           (SELECT min(a.xact_start) FROM pg_catalog.pg_stat_activity a
             WHERE a.backend_xid IS NOT NULL AND a.datname = current_database()) AS oldest_open_write_xact_start
    FROM eventstore.job_status_rows() w;

REVOKE ALL ON FUNCTION eventstore.job_status_rows() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION eventstore.job_status_rows() TO eventstore_reader;
GRANT SELECT ON eventstore.worker_status TO eventstore_reader;
