-- pg_eventstore 0.1 — install script.
--
-- Tables, types, functions, roles and privileges of the event store.  The
-- append path and hashing are C (src/pg); reads and verification are SQL over
-- the same tables.  docs/sql-reference.md documents every object here.

\echo Use "CREATE EXTENSION pg_eventstore" to load this file. \quit

-- ---------------------------------------------------------------------------
-- Roles (cluster-wide, so created only when missing)
-- ---------------------------------------------------------------------------
DO $roles$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'eventstore_reader') THEN
        CREATE ROLE eventstore_reader NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'eventstore_writer') THEN
        CREATE ROLE eventstore_writer NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'eventstore_admin') THEN
        CREATE ROLE eventstore_admin NOLOGIN;
    END IF;
END
$roles$;
GRANT eventstore_reader TO eventstore_writer;
GRANT eventstore_writer TO eventstore_admin;

-- ---------------------------------------------------------------------------
-- Types
-- ---------------------------------------------------------------------------
CREATE TYPE eventstore.new_event AS (
    event_id       uuid,
    event_type     text,
    data           jsonb,
    metadata       jsonb,
    event_time     timestamptz,
    schema_version integer
);

CREATE TYPE eventstore.event_record AS (
    global_position bigint,
    stream_id       text,
    stream_version  bigint,
    event_id        uuid,
    event_type      text,
    schema_version  integer,
    data            jsonb,
    metadata        jsonb,
    event_time      timestamptz,
    ingest_time     timestamptz,
    hash            bytea
);

-- ---------------------------------------------------------------------------
-- Storage
-- ---------------------------------------------------------------------------

-- Insert order across streams.  CACHE 1 is essential: with a per-backend
-- cache, two backends appending to one stream could hand out numbers out of
-- version order, and the sequencer orders a batch by this number.
CREATE SEQUENCE eventstore.insert_seq AS bigint CACHE 1;

-- One row per stream: its head (current version and hash).  Appends lock
-- this row, which is what serializes appends to one stream and only to it.
CREATE TABLE eventstore.streams (
    stream_id  text PRIMARY KEY,
    category   text NOT NULL,
    version    bigint NOT NULL CHECK (version >= 0),
    head_hash  bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- The event log.  Rows are never updated or deleted.
CREATE TABLE eventstore.events (
    stream_id      text NOT NULL,
    stream_version bigint NOT NULL,
    event_id       uuid NOT NULL,
    event_type     text NOT NULL,
    schema_version integer NOT NULL,
    data           jsonb NOT NULL,
    metadata       jsonb,
    event_time     timestamptz NOT NULL,
    ingest_time    timestamptz NOT NULL,
    hash           bytea NOT NULL,
    xid            xid8 NOT NULL,     -- top-level transaction that appended the event
    insert_seq     bigint NOT NULL,   -- taken under the stream lock; orders a sequencer batch
    PRIMARY KEY (stream_id, stream_version),
    CONSTRAINT events_event_id_key UNIQUE (event_id)
);
-- The sequencer finds newly committed events by transaction id range.
CREATE INDEX events_xid_idx ON eventstore.events (xid);

-- The global order: dense positions 1, 2, 3, ... assigned by the worker's
-- sequencer, each with a ledger hash chaining the whole log.
CREATE TABLE eventstore.log_positions (
    global_position bigint PRIMARY KEY,
    stream_id       text NOT NULL,
    stream_version  bigint NOT NULL,
    category        text NOT NULL,
    ledger_hash     bytea NOT NULL,
    sequenced_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT log_positions_event_key UNIQUE (stream_id, stream_version)
);
CREATE INDEX log_positions_category_idx ON eventstore.log_positions (category, global_position);

-- The sequencer's memory: the snapshot its last round used, S(k-1).  One row.
-- NULL means "bootstrap": a new install or a restored database.  Not dumped:
-- a snapshot means nothing in another cluster, so a restored database
-- bootstraps from the events that have no position yet.
CREATE TABLE eventstore.sequencer_state (
    singleton     boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    last_snapshot pg_snapshot,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
INSERT INTO eventstore.sequencer_state DEFAULT VALUES;

-- pg_dump/pg_restore carry the data of these tables.
SELECT pg_catalog.pg_extension_config_dump('eventstore.streams', '');
SELECT pg_catalog.pg_extension_config_dump('eventstore.events', '');
SELECT pg_catalog.pg_extension_config_dump('eventstore.log_positions', '');
SELECT pg_catalog.pg_extension_config_dump('eventstore.insert_seq', '');

-- ---------------------------------------------------------------------------
-- Append-only guard
-- ---------------------------------------------------------------------------
CREATE FUNCTION eventstore.log_guard() RETURNS trigger
    LANGUAGE c AS 'MODULE_PATHNAME', 'eventstore_log_guard';

CREATE FUNCTION eventstore.stamp_restored_event() RETURNS trigger
    LANGUAGE c AS 'MODULE_PATHNAME', 'eventstore_stamp_restored_event';

-- Rows not written by append (pg_restore) get this cluster's transaction id.
CREATE TRIGGER events_stamp_restored BEFORE INSERT ON eventstore.events
    FOR EACH ROW EXECUTE FUNCTION eventstore.stamp_restored_event();
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON eventstore.events
    FOR EACH STATEMENT EXECUTE FUNCTION eventstore.log_guard();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON eventstore.events
    FOR EACH STATEMENT EXECUTE FUNCTION eventstore.log_guard();
CREATE TRIGGER streams_append_only BEFORE UPDATE OR DELETE ON eventstore.streams
    FOR EACH STATEMENT EXECUTE FUNCTION eventstore.log_guard();
CREATE TRIGGER streams_no_truncate BEFORE TRUNCATE ON eventstore.streams
    FOR EACH STATEMENT EXECUTE FUNCTION eventstore.log_guard();
CREATE TRIGGER log_positions_append_only BEFORE UPDATE OR DELETE ON eventstore.log_positions
    FOR EACH STATEMENT EXECUTE FUNCTION eventstore.log_guard();
CREATE TRIGGER log_positions_no_truncate BEFORE TRUNCATE ON eventstore.log_positions
    FOR EACH STATEMENT EXECUTE FUNCTION eventstore.log_guard();

-- ---------------------------------------------------------------------------
-- Hashing (used by the verifiers; the append path calls the same C code)
-- ---------------------------------------------------------------------------
CREATE FUNCTION eventstore.event_hash(
    stream_id text, stream_version bigint, event_id uuid, event_type text,
    schema_version integer, event_time timestamptz, data jsonb, metadata jsonb,
    previous_hash bytea)
RETURNS bytea
LANGUAGE c IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'eventstore_event_hash';

CREATE FUNCTION eventstore.ledger_hash(previous_ledger_hash bytea, event_hash bytea, global_position bigint)
RETURNS bytea
LANGUAGE c IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'eventstore_ledger_hash';

-- ---------------------------------------------------------------------------
-- Append
-- ---------------------------------------------------------------------------
CREATE FUNCTION eventstore.append(
    stream_id        text,
    event_type       text,
    data             jsonb,
    metadata         jsonb DEFAULT NULL,
    expected_version bigint DEFAULT NULL,
    event_id         uuid DEFAULT NULL,
    event_time       timestamptz DEFAULT NULL)
RETURNS bigint
LANGUAGE c VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'eventstore_append';

CREATE FUNCTION eventstore.append_batch(
    stream_id        text,
    events           eventstore.new_event[],
    expected_version bigint DEFAULT NULL)
RETURNS bigint
LANGUAGE c VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'eventstore_append_batch';

-- ---------------------------------------------------------------------------
-- Read
-- ---------------------------------------------------------------------------
CREATE FUNCTION eventstore.check_max_count(max_count integer) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF max_count IS NULL OR max_count <= 0 THEN
        RAISE EXCEPTION 'max_count must be a positive number, got %', coalesce(max_count::text, 'NULL')
            USING ERRCODE = '22023';
    END IF;
END
$$;

-- Returns value, or raises 22023 naming the parameter when it is NULL.
CREATE FUNCTION eventstore.required(parameter_name text, value text) RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF value IS NULL THEN
        RAISE EXCEPTION '% must not be NULL', parameter_name USING ERRCODE = '22023';
    END IF;
    RETURN value;
END
$$;

CREATE FUNCTION eventstore.stream_version(stream_id text) RETURNS bigint
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce((SELECT s.version FROM eventstore.streams s
                     WHERE s.stream_id = eventstore.required('stream_id', $1)), 0)
$$;

CREATE FUNCTION eventstore.read_stream(
    stream_id    text,
    from_version bigint DEFAULT 1,
    max_count    integer DEFAULT 1000)
RETURNS SETOF eventstore.event_record
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM eventstore.required('stream_id', stream_id);
    IF from_version IS NULL OR from_version < 1 THEN
        RAISE EXCEPTION 'from_version must be 1 or more, got %', coalesce(from_version::text, 'NULL')
            USING ERRCODE = '22023';
    END IF;
    PERFORM eventstore.check_max_count(max_count);
    RETURN QUERY
        SELECT p.global_position, e.stream_id, e.stream_version, e.event_id, e.event_type,
               e.schema_version, e.data, e.metadata, e.event_time, e.ingest_time, e.hash
        FROM eventstore.events e
        LEFT JOIN eventstore.log_positions p
               ON p.stream_id = e.stream_id AND p.stream_version = e.stream_version
        WHERE e.stream_id = read_stream.stream_id AND e.stream_version >= from_version
        ORDER BY e.stream_version
        LIMIT max_count;
END
$$;

-- Every sequenced event with its global position and category: the one
-- place the log and its order are joined, for read_all, read_category and
-- the Kafka publisher (eventstore.event_messages).
CREATE VIEW eventstore.sequenced_events AS
    SELECT p.global_position,
           p.category,
           ROW(p.global_position, e.stream_id, e.stream_version, e.event_id, e.event_type,
               e.schema_version, e.data, e.metadata, e.event_time, e.ingest_time,
               e.hash)::eventstore.event_record AS event
    FROM eventstore.log_positions p
    JOIN eventstore.events e ON e.stream_id = p.stream_id AND e.stream_version = p.stream_version;

-- Raises 22023 unless after_position is 0 or more.
CREATE FUNCTION eventstore.check_after_position(after_position bigint) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF after_position IS NULL OR after_position < 0 THEN
        RAISE EXCEPTION 'after_position must be 0 or more, got %', coalesce(after_position::text, 'NULL')
            USING ERRCODE = '22023';
    END IF;
END
$$;

-- The whole log in global order: events the worker has sequenced, after
-- after_position.  Events not sequenced yet are simply not returned yet.
CREATE FUNCTION eventstore.read_all(
    after_position bigint DEFAULT 0,
    max_count      integer DEFAULT 1000)
RETURNS SETOF eventstore.event_record
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM eventstore.check_after_position(after_position);
    PERFORM eventstore.check_max_count(max_count);
    RETURN QUERY
        SELECT (s.event).*
        FROM eventstore.sequenced_events s
        WHERE s.global_position > after_position
        ORDER BY s.global_position
        LIMIT max_count;
END
$$;

-- One category (the part of the stream id before the first '-') in global order.
CREATE FUNCTION eventstore.read_category(
    category       text,
    after_position bigint DEFAULT 0,
    max_count      integer DEFAULT 1000)
RETURNS SETOF eventstore.event_record
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM eventstore.required('category', category);
    PERFORM eventstore.check_after_position(after_position);
    PERFORM eventstore.check_max_count(max_count);
    RETURN QUERY
        SELECT (s.event).*
        FROM eventstore.sequenced_events s
        WHERE s.category = read_category.category AND s.global_position > after_position
        ORDER BY s.global_position
        LIMIT max_count;
END
$$;

-- Blocks until the worker has sequenced position (true) or timeout passes (false).
CREATE FUNCTION eventstore.wait_for_position("position" bigint, timeout interval DEFAULT '5 seconds')
RETURNS boolean
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'eventstore_wait_for_position';

-- ---------------------------------------------------------------------------
-- Worker status
-- ---------------------------------------------------------------------------
CREATE FUNCTION eventstore.worker_status_row(
    OUT pid integer, OUT state text, OUT database text, OUT started_at timestamptz,
    OUT last_loop_at timestamptz, OUT loops bigint, OUT sequenced_position bigint,
    OUT last_batch_events bigint, OUT last_sequenced_at timestamptz,
    OUT worker_naptime_ms integer, OUT last_error text, OUT last_error_at timestamptz)
RETURNS record
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'eventstore_worker_status';

CREATE VIEW eventstore.worker_status AS
    SELECT w.*,
           (SELECT s.last_snapshot FROM eventstore.sequencer_state s) AS sequencer_snapshot,
           (SELECT min(a.xact_start) FROM pg_catalog.pg_stat_activity a
             WHERE a.backend_xid IS NOT NULL AND a.datname = current_database()) AS oldest_open_write_xact_start
    FROM eventstore.worker_status_row() w;

-- ---------------------------------------------------------------------------
-- Verify
-- ---------------------------------------------------------------------------

-- The one chain check behind verify_stream and verify_all: for every stream
-- (or one), recompute each event's hash from its stored fields and the stored
-- hash of the version before it, check versions are 1..N without holes, and
-- check the stream head agrees with the last event.  Returns the first
-- problem per stream, or an ok row.
CREATE FUNCTION eventstore.check_stream_chains(only_stream text)
RETURNS TABLE (stream_id text, ok boolean, first_bad_version bigint, detail text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH chain AS (
        SELECT e.stream_id, e.stream_version, e.hash,
               row_number() OVER w AS expected_version,
               eventstore.event_hash(e.stream_id, e.stream_version, e.event_id, e.event_type,
                                      e.schema_version, e.event_time, e.data, e.metadata,
                                      lag(e.hash) OVER w) AS recomputed
        FROM eventstore.events e
        WHERE only_stream IS NULL OR e.stream_id = only_stream
        WINDOW w AS (PARTITION BY e.stream_id ORDER BY e.stream_version)
    ),
    problems AS (
        SELECT DISTINCT ON (c.stream_id) c.stream_id, c.expected_version AS version,
               CASE WHEN c.stream_version <> c.expected_version
                        THEN format('version %s is missing (found version %s in its place)',
                                    c.expected_version, c.stream_version)
                    ELSE format('hash mismatch at version %s: stored %s, recomputed %s',
                                c.stream_version, encode(c.hash, 'hex'), encode(c.recomputed, 'hex'))
               END AS detail
        FROM chain c
        WHERE c.stream_version <> c.expected_version OR c.hash IS DISTINCT FROM c.recomputed
        ORDER BY c.stream_id, c.expected_version
    ),
    tails AS (
        SELECT c.stream_id, max(c.stream_version) AS last_version,
               (array_agg(c.hash ORDER BY c.stream_version DESC))[1] AS last_hash
        FROM chain c GROUP BY c.stream_id
    ),
    heads AS (
        SELECT coalesce(s.stream_id, t.stream_id) AS stream_id,
               CASE
                   WHEN s.stream_id IS NULL
                       THEN format('events exist but the stream head is missing')
                   WHEN t.stream_id IS NULL AND s.version > 0
                       THEN format('stream head says version %s but the stream has no events', s.version)
                   WHEN s.version <> coalesce(t.last_version, 0)
                       THEN format('stream head says version %s but the last event is version %s',
                                   s.version, coalesce(t.last_version, 0))
                   WHEN t.last_hash IS DISTINCT FROM s.head_hash
                       THEN format('stream head hash %s differs from the hash of version %s',
                                   encode(s.head_hash, 'hex'), t.last_version)
               END AS detail,
               least(s.version, t.last_version) + 1 AS version
        FROM (SELECT * FROM eventstore.streams h
              WHERE (only_stream IS NULL OR h.stream_id = only_stream) AND h.version > 0) s
        FULL JOIN tails t ON t.stream_id = s.stream_id
    )
    SELECT coalesce(p.stream_id, h.stream_id),
           p.stream_id IS NULL AND h.detail IS NULL,
           coalesce(p.version, CASE WHEN h.detail IS NOT NULL THEN h.version END),
           coalesce(p.detail, h.detail, 'ok')
    FROM heads h
    FULL JOIN problems p ON p.stream_id = h.stream_id
$$;

-- SECURITY DEFINER so that readers verify one stream without being able to
-- run the whole-store check (check_stream_chains(NULL)), which is admin work.
CREATE FUNCTION eventstore.verify_stream(stream_id text)
RETURNS TABLE (stream_id text, ok boolean, first_bad_version bigint, detail text)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT * FROM eventstore.check_stream_chains(eventstore.required('stream_id', $1))
    UNION ALL
    SELECT $1, true, NULL::bigint, 'stream does not exist (version 0)'
    WHERE NOT EXISTS (SELECT FROM eventstore.events e WHERE e.stream_id = $1)
      AND NOT EXISTS (SELECT FROM eventstore.streams s WHERE s.stream_id = $1 AND s.version > 0)
$$;

-- The global ledger: positions dense from 1, each ledger hash recomputed from
-- the previous one and the event's stored hash, every position pointing at a
-- stored event, and each stream's versions in increasing position order.
-- Returns the first problem, or nothing.
CREATE FUNCTION eventstore.check_ledger()
RETURNS TABLE (first_bad_position bigint, detail text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH chain AS (
        SELECT p.global_position, p.stream_id, p.stream_version, p.ledger_hash,
               e.stream_id IS NULL AS event_missing,
               row_number() OVER w AS expected_position,
               eventstore.ledger_hash(lag(p.ledger_hash) OVER w, e.hash, p.global_position) AS recomputed,
               p.stream_version <> 1 + coalesce(lag(p.stream_version) OVER (PARTITION BY p.stream_id
                                                   ORDER BY p.global_position), 0) AS out_of_order
        FROM eventstore.log_positions p
        LEFT JOIN eventstore.events e ON e.stream_id = p.stream_id AND e.stream_version = p.stream_version
        WINDOW w AS (ORDER BY p.global_position)
    )
    SELECT c.expected_position,
           CASE WHEN c.global_position <> c.expected_position
                    THEN format('global position %s is missing (found %s in its place)',
                                c.expected_position, c.global_position)
                WHEN c.event_missing
                    THEN format('global position %s points at %s version %s, which is not stored',
                                c.global_position, c.stream_id, c.stream_version)
                WHEN c.out_of_order
                    THEN format('global position %s holds %s version %s out of version order',
                                c.global_position, c.stream_id, c.stream_version)
                ELSE format('ledger hash mismatch at global position %s', c.global_position)
           END
    FROM chain c
    WHERE c.global_position <> c.expected_position OR c.event_missing OR c.out_of_order
       OR c.ledger_hash IS DISTINCT FROM c.recomputed
    ORDER BY c.expected_position
    LIMIT 1
$$;

-- Every stream's chain and the global ledger.  Returns one row per problem
-- (for the ledger: stream_id NULL and first_bad_version holding the first bad
-- global position), or a single summary row when all is well.
CREATE FUNCTION eventstore.verify_all()
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

-- ---------------------------------------------------------------------------
-- Kafka publishing (docs/kafka.md)
-- ---------------------------------------------------------------------------

-- Which Kafka topic a category's events go to.  Categories without a route
-- go to pg_eventstore.kafka_topic.
CREATE TABLE eventstore.kafka_routes (
    category   text PRIMARY KEY,
    topic      text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- How far the worker's publisher has got: every event up to
-- published_position has been acknowledged by Kafka (or dead-lettered).
-- Advanced only after the acknowledgement, so a crash re-publishes at most
-- the unacknowledged batch.  At most one row; none means 0.  The publisher
-- creates it on its first acknowledgement rather than CREATE EXTENSION, so
-- that pg_restore can bring the dumped row back without a conflict.
CREATE TABLE eventstore.publisher_state (
    singleton          boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    published_position bigint NOT NULL DEFAULT 0 CHECK (published_position >= 0),
    updated_at         timestamptz NOT NULL DEFAULT now()
);

-- The transactional outbox: non-event messages from eventstore.publish().
-- A row is visible to the worker only once its transaction commits, and is
-- deleted once Kafka acknowledged it.
CREATE TABLE eventstore.outbox (
    message_id  bigserial PRIMARY KEY,
    topic       text NOT NULL,
    key         text,
    payload     jsonb NOT NULL,
    headers     jsonb NOT NULL DEFAULT '{}',
    enqueued_at timestamptz NOT NULL DEFAULT now()
);

-- Messages Kafka refused for good (too large, invalid or forbidden topic),
-- with the error.  eventstore.redrive_dead_letters() sends them again.
CREATE TABLE eventstore.dead_letters (
    dead_letter_id  bigserial PRIMARY KEY,
    source          text NOT NULL CHECK (source IN ('event', 'outbox')),
    global_position bigint,   -- for events
    event_id        uuid,     -- for events
    topic           text NOT NULL,
    key             text,
    payload         jsonb NOT NULL,
    headers         jsonb NOT NULL,
    error_code      text NOT NULL,  -- librdkafka's error name, e.g. MSG_SIZE_TOO_LARGE
    error           text NOT NULL,
    failed_at       timestamptz NOT NULL DEFAULT now()
);

SELECT pg_catalog.pg_extension_config_dump('eventstore.kafka_routes', '');
SELECT pg_catalog.pg_extension_config_dump('eventstore.publisher_state', '');
SELECT pg_catalog.pg_extension_config_dump('eventstore.outbox', '');
SELECT pg_catalog.pg_extension_config_dump('eventstore.outbox_message_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('eventstore.dead_letters', '');
SELECT pg_catalog.pg_extension_config_dump('eventstore.dead_letters_dead_letter_id_seq', '');

-- A Kafka topic name as Kafka accepts it: 1-249 of [A-Za-z0-9._-], not "." or "..".
CREATE FUNCTION eventstore.checked_topic(parameter_name text, topic text) RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM eventstore.required(parameter_name, topic);
    IF topic !~ '^[A-Za-z0-9._-]{1,249}$' OR topic IN ('.', '..') THEN
        RAISE EXCEPTION '% "%" is not a valid Kafka topic name', parameter_name, topic
            USING ERRCODE = '22023',
                  HINT = 'Use 1 to 249 letters, digits, ".", "_" or "-".';
    END IF;
    RETURN topic;
END
$$;

-- The Kafka message of every sequenced event (CloudEvents binary mode plus
-- es_* headers).  The worker's publisher reads it in position order, taking
-- the headers as two parallel arrays (header_names, header_values: cheaper
-- to build and to hand to the producer than a jsonb); `headers` is the same
-- as a jsonb object, for people and for dead letters.
CREATE VIEW eventstore.event_messages AS
    SELECT m.global_position, m.event_id, m.topic, m.key, m.payload,
           jsonb_object(m.header_names, m.header_values) AS headers,
           m.header_names, m.header_values
    FROM (
        SELECT s.global_position,
               (s.event).event_id,
               coalesce(r.topic, nullif(current_setting('pg_eventstore.kafka_topic', true), ''),
                        'eventstore.events') AS topic,
               (s.event).stream_id AS key,
               (s.event).data AS payload,
               ARRAY['ce_specversion', 'ce_id', 'ce_type', 'ce_source', 'ce_subject', 'ce_time',
                     'content-type', 'es_stream_version', 'es_global_position', 'es_hash',
                     'es_schema_version']
                   || CASE WHEN (s.event).metadata ->> 'traceparent' IS NULL THEN '{}'::text[]
                           ELSE ARRAY['traceparent'] END AS header_names,
               ARRAY['1.0',
                     (s.event).event_id::text,
                     (s.event).event_type,
                     '/pg_eventstore/' || current_database() || '/' || s.category,
                     (s.event).stream_id,
                     to_char((s.event).event_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                     'application/json',
                     (s.event).stream_version::text,
                     s.global_position::text,
                     encode((s.event).hash, 'hex'),
                     (s.event).schema_version::text]
                   || CASE WHEN (s.event).metadata ->> 'traceparent' IS NULL THEN '{}'::text[]
                           ELSE ARRAY[(s.event).metadata ->> 'traceparent'] END AS header_values
        FROM eventstore.sequenced_events s
        LEFT JOIN eventstore.kafka_routes r ON r.category = s.category
    ) m;

-- Routes a category's events to a topic (replaces an existing route).
CREATE FUNCTION eventstore.add_route(category text, topic text) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM eventstore.required('category', category);
    IF category = '' OR position('-' IN category) > 0 THEN
        RAISE EXCEPTION 'category "%" is not a category: it must be non-empty and contain no "-"', category
            USING ERRCODE = '22023',
                  HINT = 'A stream''s category is the part of its id before the first "-".';
    END IF;
    INSERT INTO eventstore.kafka_routes AS r (category, topic)
    VALUES (add_route.category, eventstore.checked_topic('topic', add_route.topic))
    ON CONFLICT ON CONSTRAINT kafka_routes_pkey
    DO UPDATE SET topic = excluded.topic, created_at = now();
END
$$;

-- Removes a category's route; its events go to the default topic again.
CREATE FUNCTION eventstore.remove_route(category text) RETURNS boolean
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
    DELETE FROM eventstore.kafka_routes r WHERE r.category = remove_route.category RETURNING true;
$$;

-- Sets the worker's latch when the calling transaction commits.
CREATE FUNCTION eventstore.wake_worker_at_commit() RETURNS void
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'eventstore_wake_worker_at_commit';

-- Enqueues a non-event message; it is sent only if this transaction commits.
CREATE FUNCTION eventstore.publish(topic text, key text, payload jsonb, headers jsonb DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    new_id bigint;
BEGIN
    PERFORM eventstore.checked_topic('topic', topic);
    IF payload IS NULL THEN
        RAISE EXCEPTION 'payload must not be NULL' USING ERRCODE = '22023';
    END IF;
    IF headers IS NOT NULL AND jsonb_typeof(headers) <> 'object' THEN
        RAISE EXCEPTION 'headers must be a JSON object of strings, not %', headers USING ERRCODE = '22023';
    END IF;
    IF EXISTS (SELECT FROM jsonb_each(coalesce(headers, '{}')) h
               WHERE jsonb_typeof(h.value) IN ('object', 'array', 'null')) THEN
        RAISE EXCEPTION 'headers must be a JSON object of strings, not %', headers
            USING ERRCODE = '22023', HINT = 'Header values are strings, numbers or booleans.';
    END IF;
    IF pg_column_size(payload) > pg_size_bytes(current_setting('pg_eventstore.max_event_size')) THEN
        RAISE EXCEPTION 'payload is % bytes, more than pg_eventstore.max_event_size (%)',
            pg_column_size(payload), current_setting('pg_eventstore.max_event_size')
            USING ERRCODE = '54000';
    END IF;
    INSERT INTO eventstore.outbox (topic, key, payload, headers)
    VALUES (topic, key, payload, coalesce(headers, '{}'))
    RETURNING message_id INTO new_id;
    PERFORM eventstore.wake_worker_at_commit();
    RETURN new_id;
END
$$;

-- Sends dead letters again (all when dead_letter_ids is NULL), optionally to
-- another topic: they move to the outbox and leave dead_letters.  Returns
-- how many were moved.  Event messages keep their headers, so consumers see
-- the original ce_id and es_global_position.
CREATE FUNCTION eventstore.redrive_dead_letters(dead_letter_ids bigint[] DEFAULT NULL, topic text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    moved bigint;
BEGIN
    IF topic IS NOT NULL THEN
        PERFORM eventstore.checked_topic('topic', topic);
    END IF;
    WITH taken AS (
        DELETE FROM eventstore.dead_letters d
        WHERE dead_letter_ids IS NULL OR d.dead_letter_id = ANY (dead_letter_ids)
        RETURNING d.*
    )
    INSERT INTO eventstore.outbox (topic, key, payload, headers)
    SELECT coalesce(redrive_dead_letters.topic, t.topic), t.key, t.payload, t.headers
    FROM taken t ORDER BY t.dead_letter_id;
    GET DIAGNOSTICS moved = ROW_COUNT;
    IF moved > 0 THEN
        PERFORM eventstore.wake_worker_at_commit();
    END IF;
    RETURN moved;
END
$$;

-- The publisher's shared-memory state as one row.
CREATE FUNCTION eventstore.publisher_status_row(
    OUT state text, OUT in_flight bigint, OUT acknowledged_total bigint,
    OUT messages_per_second double precision, OUT last_acknowledged_at timestamptz,
    OUT last_error text, OUT last_error_at timestamptz)
RETURNS record
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'eventstore_publisher_status';

CREATE VIEW eventstore.outbox_status AS
    SELECT s.state,
           ps.published_position,
           q.sequenced_position,
           q.sequenced_position - ps.published_position AS pending_events,
           (SELECT count(*) FROM eventstore.outbox) AS pending_messages,
           now() - least(
               (SELECT min(o.enqueued_at) FROM eventstore.outbox o),
               (SELECT e.ingest_time FROM eventstore.log_positions p
                  JOIN eventstore.events e USING (stream_id, stream_version)
                 WHERE p.global_position = ps.published_position + 1)) AS oldest_pending_age,
           s.in_flight,
           s.acknowledged_total,
           s.messages_per_second,
           s.last_acknowledged_at,
           (SELECT count(*) FROM eventstore.dead_letters) AS dead_letters,
           s.last_error,
           s.last_error_at
    FROM (SELECT coalesce((SELECT published_position FROM eventstore.publisher_state), 0)
                 AS published_position) ps,
         LATERAL (SELECT coalesce(max(global_position), 0) AS sequenced_position
                  FROM eventstore.log_positions) q,
         eventstore.publisher_status_row() s;

-- ---------------------------------------------------------------------------
-- Privileges
-- ---------------------------------------------------------------------------
REVOKE ALL ON ALL TABLES IN SCHEMA eventstore FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA eventstore FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA eventstore FROM PUBLIC;

GRANT USAGE ON SCHEMA eventstore TO eventstore_reader;
GRANT SELECT ON eventstore.streams, eventstore.events, eventstore.log_positions TO eventstore_reader;
GRANT SELECT ON eventstore.sequenced_events TO eventstore_reader;
GRANT SELECT ON eventstore.worker_status, eventstore.outbox_status, eventstore.dead_letters,
    eventstore.kafka_routes TO eventstore_reader;
GRANT EXECUTE ON FUNCTION
    eventstore.read_all(bigint, integer),
    eventstore.read_category(text, bigint, integer),
    eventstore.wait_for_position(bigint, interval),
    eventstore.worker_status_row(),
    eventstore.publisher_status_row(),
    eventstore.ledger_hash(bytea, bytea, bigint),
    eventstore.stream_version(text),
    eventstore.read_stream(text, bigint, integer),
    eventstore.verify_stream(text),
    eventstore.check_max_count(integer),
    eventstore.check_after_position(bigint),
    eventstore.required(text, text),
    eventstore.event_hash(text, bigint, uuid, text, integer, timestamptz, jsonb, jsonb, bytea)
TO eventstore_reader;

GRANT EXECUTE ON FUNCTION
    eventstore.append(text, text, jsonb, jsonb, bigint, uuid, timestamptz),
    eventstore.append_batch(text, eventstore.new_event[], bigint),
    eventstore.publish(text, text, jsonb, jsonb)
TO eventstore_writer;

-- Routing and re-driving change what goes to Kafka: administrators only.
GRANT EXECUTE ON FUNCTION
    eventstore.add_route(text, text),
    eventstore.remove_route(text),
    eventstore.redrive_dead_letters(bigint[], text),
    eventstore.checked_topic(text, text),
    eventstore.required(text, text),
    eventstore.wake_worker_at_commit()
TO eventstore_admin;
GRANT SELECT, INSERT, UPDATE, DELETE ON eventstore.kafka_routes TO eventstore_admin;
GRANT SELECT, DELETE ON eventstore.dead_letters TO eventstore_admin;
GRANT SELECT, INSERT ON eventstore.outbox TO eventstore_admin;
GRANT USAGE ON SEQUENCE eventstore.outbox_message_id_seq TO eventstore_admin;

GRANT EXECUTE ON FUNCTION eventstore.verify_all(), eventstore.check_ledger(), eventstore.check_stream_chains(text)
TO eventstore_admin;
