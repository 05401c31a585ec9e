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
-- The checkpoint topic is the worker's
-- ---------------------------------------------------------------------------
-- Auditors keep every line of pg_eventstore.checkpoint_topic as a signed
-- checkpoint (docs/tamper-evidence.md).  A line anyone else put there would
-- be a false alarm for them, or, with unsigned checkpoints, a forgery: no
-- publish() and no route may use that topic.  The worker writes its
-- checkpoints to the outbox itself.  (STABLE now: it reads a setting.)
CREATE OR REPLACE FUNCTION eventstore.checked_topic(parameter_name text, topic text) RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM eventstore.required(parameter_name, topic);
    IF topic !~ '^[A-Za-z0-9._-]{1,249}$' OR topic IN ('.', '..') THEN
        RAISE EXCEPTION '% "%" is not a valid Kafka topic name', parameter_name, topic
            USING ERRCODE = '22023',
                  HINT = 'Use 1 to 249 letters, digits, ".", "_" or "-".';
    END IF;
    IF topic = current_setting('pg_eventstore.checkpoint_topic', true) THEN
        RAISE EXCEPTION 'topic "%" is reserved for the worker''s checkpoints', topic
            USING ERRCODE = '42501',
                  HINT = 'It is pg_eventstore.checkpoint_topic; only the worker publishes there.';
    END IF;
    RETURN topic;
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
    FOR r IN SELECT * FROM eventstore.check_period_closes() LOOP
        problem_found := true;
        stream_id := r.stream_id; ok := false;
        first_bad_version := r.first_bad_version; detail := r.detail;
        RETURN NEXT;
    END LOOP;
    FOR r IN SELECT * FROM eventstore.check_event_rows() LOOP
        problem_found := true;
        stream_id := r.stream_id; ok := false;
        first_bad_version := r.first_bad_version; detail := r.detail;
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

-- ---------------------------------------------------------------------------
-- Projections (docs/projections.md)
-- ---------------------------------------------------------------------------
-- A projection is a named consumer of the sequenced log that keeps read-model
-- tables in its own schema.  The projector (a worker process of its own)
-- applies each batch of events and the projection's new position in one
-- transaction, in global order, running the handler or SQL as owner_role,
-- the role that created the projection.
CREATE TABLE eventstore.projections (
    name            text PRIMARY KEY,
    handler         regprocedure,          -- a per-event or per-batch function, or NULL
    handler_kind    text NOT NULL CHECK (handler_kind IN ('event', 'batch', 'sql')),
    sql             text,                  -- set-based statements over the relation "batch"
    event_types     text[],                -- NULL: every type
    categories      text[],                -- NULL: every category
    schema_name     name NOT NULL UNIQUE,  -- where the projection's tables live
    on_error        text NOT NULL CHECK (on_error IN ('halt', 'skip')),
    owner_role      regrole NOT NULL,      -- the handler runs as this role (set by a trigger)
    state           text NOT NULL DEFAULT 'running'
                    CHECK (state IN ('running', 'paused', 'failed', 'rebuilding')),
    "position"      bigint NOT NULL DEFAULT 0 CHECK ("position" >= 0),
    last_error      text,
    error_position  bigint,
    rebuild_position bigint,               -- NULL unless rebuilding
    rebuild_schema  name,                  -- the copy being rebuilt beside the live schema
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((handler IS NULL) <> (sql IS NULL)),
    CHECK ((handler_kind = 'sql') = (sql IS NOT NULL))
);

-- Events a projection with on_error = 'skip' could not apply.
CREATE TABLE eventstore.projection_errors (
    projection      text NOT NULL,
    global_position bigint NOT NULL,
    event_id        uuid NOT NULL,
    sqlstate        text NOT NULL,
    error           text NOT NULL,
    failed_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (projection, global_position)
);

SELECT pg_catalog.pg_extension_config_dump('eventstore.projections', '');
SELECT pg_catalog.pg_extension_config_dump('eventstore.projection_errors', '');

-- The owner of a projection (and of an aggregate or upcaster) is whoever
-- inserted its row, whatever the row says: the worker runs the code as this
-- role, so naming another role (a superuser) must be impossible.  Only a
-- superuser's insert keeps the owner it names: pg_restore, run by a
-- superuser, brings registrations back with their owners, not as its own.
CREATE FUNCTION eventstore.stamp_projection_owner() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NEW.owner_role IS NULL
       OR NOT (SELECT r.rolsuper FROM pg_roles r WHERE r.rolname = current_user) THEN
        NEW.owner_role := current_user::regrole;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER projections_owner BEFORE INSERT ON eventstore.projections
    FOR EACH ROW EXECUTE FUNCTION eventstore.stamp_projection_owner();

-- Registers a projection (needs eventstore_admin).  Runs as the caller, so
-- that the row's owner is the caller; the checks make bad input a clear
-- error with nothing registered.
CREATE FUNCTION eventstore.create_projection(
    name         text,
    handler      regprocedure DEFAULT NULL,
    sql          text DEFAULT NULL,
    event_types  text[] DEFAULT NULL,
    categories   text[] DEFAULT NULL,
    schema       name DEFAULT NULL,
    on_error     text DEFAULT 'halt')
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    kind text;
    target_schema name := coalesce(create_projection.schema, create_projection.name::name);
    record_type oid := 'eventstore.event_record'::regtype;
    f record;
BEGIN
    IF name IS NULL OR name !~ '^[a-z_][a-z0-9_]{0,62}$' THEN
        RAISE EXCEPTION 'projection name % is not valid', coalesce(quote_literal(name), 'NULL')
            USING ERRCODE = '22023', HINT = 'Use 1 to 63 lower-case letters, digits and underscores, not starting with a digit.';
    END IF;
    IF (handler IS NULL) = (sql IS NULL) THEN
        RAISE EXCEPTION 'give exactly one of handler and sql for projection "%"', name USING ERRCODE = '22023';
    END IF;
    IF on_error IS NULL OR on_error NOT IN ('halt', 'skip') THEN
        RAISE EXCEPTION 'on_error must be ''halt'' or ''skip'', got %', coalesce(quote_literal(on_error), 'NULL')
            USING ERRCODE = '22023';
    END IF;
    IF handler IS NOT NULL THEN
        SELECT p.pronargs, p.proargtypes[0] AS argtype, p.prorettype, p.prokind INTO f
        FROM pg_proc p WHERE p.oid = handler;
        IF f.prokind <> 'f' OR f.pronargs <> 1 OR f.prorettype <> 'void'::regtype
           OR f.argtype NOT IN (record_type, (SELECT t.typarray FROM pg_type t WHERE t.oid = record_type)) THEN
            RAISE EXCEPTION 'handler % must take eventstore.event_record or eventstore.event_record[] and return void',
                handler USING ERRCODE = '22023';
        END IF;
        kind := CASE WHEN f.argtype = record_type THEN 'event' ELSE 'batch' END;
        IF NOT has_function_privilege(current_user, handler, 'EXECUTE') THEN
            RAISE EXCEPTION 'role % may not execute handler %', current_user, handler USING ERRCODE = '42501';
        END IF;
    ELSE
        kind := 'sql';
        IF btrim(sql) = '' THEN
            RAISE EXCEPTION 'sql of projection "%" is empty', name USING ERRCODE = '22023';
        END IF;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_namespace n WHERE n.nspname = target_schema) THEN
        RAISE EXCEPTION 'schema "%" does not exist', target_schema
            USING ERRCODE = '42704', HINT = 'Create the schema and the projection''s tables in it first.';
    END IF;
    IF NOT has_schema_privilege(current_user, target_schema, 'USAGE') THEN
        RAISE EXCEPTION 'role % has no USAGE on schema "%"', current_user, target_schema USING ERRCODE = '42501';
    END IF;
    IF EXISTS (SELECT FROM eventstore.projections p WHERE p.schema_name = target_schema) THEN
        RAISE EXCEPTION 'schema "%" already belongs to projection "%"', target_schema,
            (SELECT p.name FROM eventstore.projections p WHERE p.schema_name = target_schema)
            USING ERRCODE = '22023';
    END IF;
    IF EXISTS (SELECT FROM eventstore.projections p WHERE p.name = create_projection.name) THEN
        RAISE EXCEPTION 'projection "%" already exists', name USING ERRCODE = '42710';
    END IF;
    INSERT INTO eventstore.projections (name, handler, handler_kind, sql, event_types, categories, schema_name,
                                        on_error, owner_role)
    VALUES (name, handler, kind, sql, event_types, categories, target_schema, on_error, current_user::regrole);
    PERFORM eventstore.wake_worker_at_commit();
END
$$;

-- Raises 42704 unless the projection exists; returns its row.
CREATE FUNCTION eventstore.projection_row(projection_name text) RETURNS eventstore.projections
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    registration eventstore.projections;
BEGIN
    SELECT * INTO registration FROM eventstore.projections p WHERE p.name = projection_name FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'projection "%" does not exist', coalesce(projection_name, 'NULL') USING ERRCODE = '42704';
    END IF;
    RETURN registration;
END
$$;

CREATE FUNCTION eventstore.pause_projection(name text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM eventstore.projection_row(name);
    UPDATE eventstore.projections p SET state = 'paused', updated_at = now()
    WHERE p.name = pause_projection.name AND p.state IN ('running', 'failed', 'rebuilding');
END
$$;

-- Resumes a paused projection, or a failed one (which retries its failing event).
CREATE FUNCTION eventstore.resume_projection(name text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM eventstore.projection_row(name);
    UPDATE eventstore.projections p
    SET state = CASE WHEN p.rebuild_schema IS NULL THEN 'running' ELSE 'rebuilding' END,
        last_error = NULL, error_position = NULL, updated_at = now()
    WHERE p.name = resume_projection.name AND p.state IN ('paused', 'failed');
    PERFORM eventstore.wake_worker_at_commit();
END
$$;

-- Forgets a projection: its registration and position go, its tables stay.
CREATE FUNCTION eventstore.drop_projection(name text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    registration eventstore.projections;
BEGIN
    registration := eventstore.projection_row(name);
    IF registration.rebuild_schema IS NOT NULL THEN
        EXECUTE format('DROP SCHEMA IF EXISTS %I CASCADE', registration.rebuild_schema);
    END IF;
    DELETE FROM eventstore.projections p WHERE p.name = drop_projection.name;
    DELETE FROM eventstore.projection_errors e WHERE e.projection = drop_projection.name;
END
$$;

-- Rebuilds a projection without downtime: a copy of its schema's tables is
-- created beside the live ones (same columns, defaults, constraints,
-- indexes, owners and grants), the projector replays the whole log into the
-- copy while the live read model stays queryable and up to date, and once
-- the copy has caught up it takes the live schema's name in one short
-- transaction.  cancel => true drops the copy and stops the rebuild.
CREATE FUNCTION eventstore.rebuild_projection(name text, cancel boolean DEFAULT false) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    registration eventstore.projections;
    copy_schema name;
    live_owner name;
    t record;
    g record;
BEGIN
    registration := eventstore.projection_row(name);
    IF cancel THEN
        IF registration.rebuild_schema IS NOT NULL THEN
            EXECUTE format('DROP SCHEMA IF EXISTS %I CASCADE', registration.rebuild_schema);
        END IF;
        UPDATE eventstore.projections p
        SET state = CASE WHEN p.state = 'rebuilding' THEN 'running' ELSE p.state END,
            rebuild_schema = NULL, rebuild_position = NULL, updated_at = now()
        WHERE p.name = rebuild_projection.name;
        RETURN;
    END IF;
    IF registration.rebuild_schema IS NOT NULL THEN
        RAISE EXCEPTION 'projection "%" is already being rebuilt (into schema "%")', name, registration.rebuild_schema
            USING ERRCODE = '55000', HINT = 'Cancel it with rebuild_projection(name, cancel => true).';
    END IF;
    copy_schema := left(registration.schema_name, 50) || '_rebuild';
    IF EXISTS (SELECT FROM pg_namespace n WHERE n.nspname = copy_schema) THEN
        RAISE EXCEPTION 'schema "%" exists already; the rebuild needs that name for its copy', copy_schema
            USING ERRCODE = '42P06';
    END IF;
    SELECT r.rolname INTO live_owner FROM pg_namespace n JOIN pg_roles r ON r.oid = n.nspowner
    WHERE n.nspname = registration.schema_name;
    IF live_owner IS NULL THEN
        RAISE EXCEPTION 'schema "%" of projection "%" does not exist', registration.schema_name, name USING ERRCODE = '42704';
    END IF;
    -- The copy replaces the whole schema, and only tables (with their
    -- indexes, constraints and identity sequences) are copied: anything
    -- else in it would be dropped with the old copy.
    SELECT o.what INTO t FROM (
        SELECT format('function %s', p.oid::regprocedure) AS what FROM pg_proc p
        WHERE p.pronamespace = registration.schema_name::regnamespace
        UNION ALL
        SELECT format('%s %I.%I', CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view'
                                  WHEN 'f' THEN 'foreign table' ELSE 'relation' END,
                      registration.schema_name, c.relname)
        FROM pg_class c WHERE c.relnamespace = registration.schema_name::regnamespace
          AND c.relkind NOT IN ('r', 'p', 'i', 'I', 'S', 't')
        UNION ALL
        SELECT format('type %I.%I', registration.schema_name, ty.typname) FROM pg_type ty
        WHERE ty.typnamespace = registration.schema_name::regnamespace AND ty.typtype IN ('e', 'd', 'c', 'r', 'm')
          AND (ty.typrelid = 0 OR (SELECT c.relkind FROM pg_class c WHERE c.oid = ty.typrelid) = 'c')
        UNION ALL
        SELECT format('row-level security on %I.%I', registration.schema_name, c.relname) FROM pg_class c
        WHERE c.relnamespace = registration.schema_name::regnamespace AND c.relkind IN ('r', 'p')
          AND (c.relrowsecurity OR EXISTS (SELECT FROM pg_policy pol WHERE pol.polrelid = c.oid))
        UNION ALL
        SELECT format('trigger %I on %I.%I', tg.tgname, registration.schema_name, c.relname)
        FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid
        WHERE c.relnamespace = registration.schema_name::regnamespace AND NOT tg.tgisinternal
        UNION ALL
        SELECT format('default %s of %I.%I (a sequence default; use an identity column)',
                      pg_get_expr(d.adbin, d.adrelid), registration.schema_name, c.relname)
        FROM pg_attrdef d JOIN pg_class c ON c.oid = d.adrelid
        WHERE c.relnamespace = registration.schema_name::regnamespace AND pg_get_expr(d.adbin, d.adrelid) LIKE 'nextval(%'
    ) o LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'schema "%" of projection "%" holds % that a rebuild cannot copy', registration.schema_name,
            name, t.what
            USING ERRCODE = '55000',
                  HINT = 'A rebuild replaces the whole schema and copies its tables, their indexes, constraints, '
                         'owners and grants only: keep functions, views, types and other objects in another '
                         'schema, and do without triggers and row-level security on projection tables.';
    END IF;
    EXECUTE format('CREATE SCHEMA %I AUTHORIZATION %I', copy_schema, live_owner);
    FOR g IN SELECT a.privilege_type, a.grantee FROM pg_namespace n, aclexplode(n.nspacl) a
             WHERE n.nspname = registration.schema_name AND a.grantee <> n.nspowner LOOP
        EXECUTE format('GRANT %s ON SCHEMA %I TO %s', g.privilege_type, copy_schema,
                       CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(g.grantee::regrole::text) END);
    END LOOP;
    FOR t IN SELECT c.oid, c.relname, c.relowner::regrole::text AS owner, c.relacl
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = registration.schema_name AND c.relkind IN ('r', 'p') AND NOT c.relispartition LOOP
        EXECUTE format('CREATE TABLE %I.%I (LIKE %I.%I INCLUDING ALL)', copy_schema, t.relname,
                       registration.schema_name, t.relname);
        EXECUTE format('ALTER TABLE %I.%I OWNER TO %s', copy_schema, t.relname, quote_ident(t.owner));
        FOR g IN SELECT a.privilege_type, a.grantee FROM aclexplode(t.relacl) a
                 WHERE a.grantee <> t.owner::regrole LOOP
            EXECUTE format('GRANT %s ON %I.%I TO %s', g.privilege_type, copy_schema, t.relname,
                           CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(g.grantee::regrole::text) END);
        END LOOP;
    END LOOP;
    UPDATE eventstore.projections p
    SET state = CASE WHEN p.state = 'running' THEN 'rebuilding' ELSE p.state END,
        rebuild_schema = copy_schema, rebuild_position = 0, updated_at = now()
    WHERE p.name = rebuild_projection.name;
    PERFORM eventstore.wake_worker_at_commit();
END
$$;

-- Blocks until the projection has applied everything up to position (true)
-- or the timeout passes (false).
CREATE FUNCTION eventstore.wait_for_projection(name text, "position" bigint, timeout interval DEFAULT '5 seconds')
RETURNS boolean
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'eventstore_wait_for_projection';

-- The projector's view of each projection (its recent speed).
CREATE FUNCTION eventstore.projection_progress_rows(
    OUT name text, OUT "position" bigint, OUT applied_total bigint, OUT events_per_second double precision)
RETURNS SETOF record
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'eventstore_projection_progress';

CREATE VIEW eventstore.projection_status AS
    SELECT p.name, p.state, p."position", q.sequenced_position,
           greatest(q.sequenced_position - p."position", 0) AS lag_events,
           coalesce(extract(epoch FROM now() - (
               SELECT e.ingest_time FROM eventstore.log_positions lp
               JOIN eventstore.events e ON e.stream_id = lp.stream_id AND e.stream_version = lp.stream_version
               WHERE lp.global_position = p."position" + 1)), 0)::double precision AS lag_seconds,
           coalesce(s.events_per_second, 0) AS events_per_second,
           p.last_error, p.error_position, p.rebuild_position
    FROM eventstore.projections p
    CROSS JOIN (SELECT coalesce(max(global_position), 0) AS sequenced_position
                FROM eventstore.log_positions) q
    LEFT JOIN eventstore.projection_progress_rows() s ON s.name = p.name;

REVOKE ALL ON eventstore.projections, eventstore.projection_errors FROM PUBLIC;
REVOKE ALL ON FUNCTION eventstore.stamp_projection_owner(), eventstore.create_projection(text, regprocedure, text,
    text[], text[], name, text), eventstore.projection_row(text), eventstore.pause_projection(text),
    eventstore.resume_projection(text), eventstore.drop_projection(text), eventstore.rebuild_projection(text, boolean),
    eventstore.wait_for_projection(text, bigint, interval), eventstore.projection_progress_rows() FROM PUBLIC;

GRANT SELECT ON eventstore.projections, eventstore.projection_errors, eventstore.projection_status
TO eventstore_reader;
GRANT EXECUTE ON FUNCTION eventstore.wait_for_projection(text, bigint, interval),
    eventstore.projection_progress_rows() TO eventstore_reader;
-- Administrators register projections as themselves (the trigger sets the
-- owner) and manage them through the functions; they never update or
-- delete registrations directly.
GRANT INSERT ON eventstore.projections TO eventstore_admin;
GRANT EXECUTE ON FUNCTION eventstore.create_projection(text, regprocedure, text, text[], text[], name, text),
    eventstore.stamp_projection_owner(), eventstore.pause_projection(text), eventstore.resume_projection(text),
    eventstore.drop_projection(text), eventstore.rebuild_projection(text, boolean), eventstore.wake_worker_at_commit()
TO eventstore_admin;

-- ---------------------------------------------------------------------------
-- Aggregates: state at any point in time (docs/aggregates.md)
-- ---------------------------------------------------------------------------
-- One fold per category: (state jsonb, event eventstore.event_record) -> jsonb.
CREATE TABLE eventstore.aggregates (
    category       text PRIMARY KEY,
    fold           regprocedure NOT NULL,
    initial_state  jsonb NOT NULL,
    snapshot_every integer NOT NULL CHECK (snapshot_every >= 1),
    owner_role     regrole NOT NULL,       -- the worker folds for snapshots as this role (set by a trigger)
    created_at     timestamptz NOT NULL DEFAULT now()
);

-- States the worker computed every snapshot_every events of a stream.  A
-- snapshot is used only by a question all its events answer (max_event_time,
-- known_at) and only while what produced it is unchanged (fold_identity).
CREATE TABLE eventstore.snapshots (
    stream_id       text NOT NULL,
    version         bigint NOT NULL,
    global_position bigint NOT NULL,       -- of the snapshot's last event
    max_event_time  timestamptz NOT NULL,  -- latest event_time among versions 1..version
    known_at        timestamptz NOT NULL,  -- when the store knew all of them (latest sequenced_at)
    state           jsonb NOT NULL,
    fold_identity   text NOT NULL,         -- digest of the fold's definition, the initial state, the upcasters
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (stream_id, fold_identity, version)
);
-- Snapshots are derived data: not dumped, the worker recomputes them.

SELECT pg_catalog.pg_extension_config_dump('eventstore.aggregates', '');

CREATE TRIGGER aggregates_owner BEFORE INSERT ON eventstore.aggregates
    FOR EACH ROW EXECUTE FUNCTION eventstore.stamp_projection_owner();

-- Folds events into a state with fold, in array order, as the caller.
CREATE FUNCTION eventstore.apply_fold(fold regprocedure, state jsonb, events eventstore.event_record[])
RETURNS jsonb
LANGUAGE c STABLE
AS 'MODULE_PATHNAME', 'eventstore_apply_fold';

-- Upcasters: (data jsonb) -> jsonb, bringing an event type's data from one
-- schema version to the next.  Applied on every read (eventstore.upcast),
-- never to the stored rows.  Run as owner_role (set by a trigger).
CREATE TABLE eventstore.upcasters (
    event_type          text NOT NULL,
    from_schema_version integer NOT NULL CHECK (from_schema_version >= 1),
    upcaster            regprocedure NOT NULL,
    owner_role          regrole NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_type, from_schema_version)
);
SELECT pg_catalog.pg_extension_config_dump('eventstore.upcasters', '');
CREATE TRIGGER upcasters_owner BEFORE INSERT ON eventstore.upcasters
    FOR EACH ROW EXECUTE FUNCTION eventstore.stamp_projection_owner();

-- An event as readers see it: its data upcast to the newest schema version.
CREATE FUNCTION eventstore.upcast(event eventstore.event_record) RETURNS eventstore.event_record
LANGUAGE c STABLE
AS 'MODULE_PATHNAME', 'eventstore_upcast';

-- What a snapshot's state depends on besides the events: the fold's
-- definition, the initial state and the upcasters (what the fold sees).
-- Changing any of them (CREATE OR REPLACE included) changes the identity,
-- so older snapshots are ignored.
CREATE FUNCTION eventstore.fold_identity(fold regprocedure, initial_state jsonb) RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT md5(pg_get_functiondef(fold) || E'\n' || initial_state::text || E'\n' ||
               coalesce((SELECT string_agg(u.event_type || '/' || u.from_schema_version || '/' ||
                                           pg_get_functiondef(u.upcaster), E'\n'
                                           ORDER BY u.event_type, u.from_schema_version)
                         FROM eventstore.upcasters u), ''))
$$;

CREATE FUNCTION eventstore.create_aggregate(category text, fold regprocedure, initial_state jsonb DEFAULT '{}',
                                            snapshot_every integer DEFAULT 100)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    f record;
BEGIN
    IF category IS NULL OR category = '' OR position('-' IN category) > 0 THEN
        RAISE EXCEPTION 'category % is not a category: it must be non-empty and contain no "-"',
            coalesce(quote_literal(category), 'NULL') USING ERRCODE = '22023';
    END IF;
    IF fold IS NULL THEN
        RAISE EXCEPTION 'fold must not be NULL' USING ERRCODE = '22023';
    END IF;
    SELECT p.pronargs, p.proargtypes, p.prorettype, p.prokind INTO f FROM pg_proc p WHERE p.oid = fold;
    IF f.prokind <> 'f' OR f.pronargs <> 2 OR f.prorettype <> 'jsonb'::regtype
       OR f.proargtypes[0] <> 'jsonb'::regtype OR f.proargtypes[1] <> 'eventstore.event_record'::regtype THEN
        RAISE EXCEPTION 'fold % must take (jsonb, eventstore.event_record) and return jsonb', fold
            USING ERRCODE = '22023';
    END IF;
    IF NOT has_function_privilege(current_user, fold, 'EXECUTE') THEN
        RAISE EXCEPTION 'role % may not execute fold %', current_user, fold USING ERRCODE = '42501';
    END IF;
    IF initial_state IS NULL THEN
        RAISE EXCEPTION 'initial_state must not be NULL' USING ERRCODE = '22023';
    END IF;
    IF snapshot_every IS NULL OR snapshot_every < 1 THEN
        RAISE EXCEPTION 'snapshot_every must be 1 or more, got %', coalesce(snapshot_every::text, 'NULL')
            USING ERRCODE = '22023';
    END IF;
    IF EXISTS (SELECT FROM eventstore.aggregates a WHERE a.category = create_aggregate.category) THEN
        RAISE EXCEPTION 'category "%" already has an aggregate', category USING ERRCODE = '42710';
    END IF;
    INSERT INTO eventstore.aggregates (category, fold, initial_state, snapshot_every, owner_role)
    VALUES (category, fold, initial_state, snapshot_every, current_user::regrole);
    PERFORM eventstore.wake_worker_at_commit();
END
$$;

CREATE FUNCTION eventstore.drop_aggregate(category text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    DELETE FROM eventstore.aggregates a WHERE a.category = drop_aggregate.category;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'category "%" has no aggregate', coalesce(category, 'NULL') USING ERRCODE = '42704';
    END IF;
    DELETE FROM eventstore.snapshots s WHERE split_part(s.stream_id, '-', 1) = drop_aggregate.category;
END
$$;

-- The newest snapshot of a stream that answers the question (all its events
-- pass both filters) and was made by the current fold; SECURITY DEFINER so
-- that readers use snapshots without reading the table.
CREATE FUNCTION eventstore.usable_snapshot(stream_id text, identity text, as_of timestamptz, as_known_at timestamptz,
                                           OUT version bigint, OUT state jsonb)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT s.version, s.state FROM eventstore.snapshots s
    WHERE s.stream_id = usable_snapshot.stream_id AND s.fold_identity = identity
      AND (as_of IS NULL OR s.max_event_time <= as_of)
      AND (as_known_at IS NULL OR s.known_at <= as_known_at)
    ORDER BY s.version DESC LIMIT 1
$$;

-- The stream's state: its events in version order folded from the initial
-- state, only those with event_time <= as_of (business time) and known to
-- the store at as_known_at (record time: an event is known from the moment
-- the sequencer gave it its global position, log_positions.sequenced_at).
CREATE FUNCTION eventstore.load_state(stream_id text, as_of timestamptz DEFAULT NULL,
                                      as_known_at timestamptz DEFAULT NULL)
RETURNS TABLE (state jsonb, version bigint)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    stream text := eventstore.required('stream_id', stream_id);
    aggregate eventstore.aggregates;
    snapshot record;
    events eventstore.event_record[];
    known_version bigint;  -- the last version known at as_known_at
    low bigint;
    high bigint;
    middle bigint;
BEGIN
    SELECT * INTO aggregate FROM eventstore.aggregates a WHERE a.category = split_part(stream, '-', 1);
    IF NOT FOUND THEN
        RAISE EXCEPTION 'category "%" of stream "%" has no aggregate', split_part(stream, '-', 1), stream
            USING ERRCODE = '22023', HINT = 'Register one with eventstore.create_aggregate.';
    END IF;
    state := aggregate.initial_state;
    version := 0;
    SELECT * INTO snapshot
    FROM eventstore.usable_snapshot(stream, eventstore.fold_identity(aggregate.fold, aggregate.initial_state),
                                    as_of, as_known_at);
    IF snapshot.version IS NOT NULL THEN
        state := snapshot.state;
        version := snapshot.version;
    END IF;
    IF as_known_at IS NOT NULL THEN
        -- What was known is a prefix of the stream (sequenced_at grows with
        -- the version), so its end is found by bisection over the versions
        -- after the snapshot: a few index probes instead of reading them all.
        low := version;
        SELECT max(p.stream_version) INTO high FROM eventstore.log_positions p WHERE p.stream_id = stream;
        high := coalesce(high, 0);
        WHILE low < high LOOP
            middle := (low + high + 1) / 2;
            IF (SELECT p.sequenced_at <= as_known_at FROM eventstore.log_positions p
                WHERE p.stream_id = stream AND p.stream_version = middle) THEN
                low := middle;
            ELSE
                high := middle - 1;
            END IF;
        END LOOP;
        known_version := low;
    END IF;
    IF as_of IS NOT NULL THEN
        -- Event time is not monotone in a stream: every version after the
        -- snapshot is looked at, and only those at or before as_of are
        -- folded.  Filtered in the scan, the others never become rows
        -- (through read_stream they were each formed, upcast and stored:
        -- 7.75x the current state's time in the middle of 10,000 events,
        -- against 2.3x this way).
        SELECT array_agg(eventstore.upcast(ROW(p.global_position, e.stream_id, e.stream_version, e.event_id,
                             e.event_type, e.schema_version, e.data, e.metadata, e.event_time, e.ingest_time,
                             e.hash)::eventstore.event_record) ORDER BY e.stream_version)
        INTO events
        FROM eventstore.events e
        LEFT JOIN eventstore.log_positions p ON p.stream_id = e.stream_id AND p.stream_version = e.stream_version
        WHERE e.stream_id = stream AND e.stream_version > load_state.version
          AND (known_version IS NULL OR e.stream_version <= known_version)
          AND e.event_time <= as_of;
    ELSIF known_version IS NULL OR known_version > version THEN
        -- read_stream: the events upcast, with their positions, in one
        -- index walk whatever plan this statement gets.
        SELECT array_agg(r ORDER BY r.stream_version) INTO events
        FROM eventstore.read_stream(stream, version + 1,
                                    coalesce(least(known_version - version, 2147483647), 2147483647)::integer) r;
    END IF;
    IF events IS NOT NULL THEN
        state := eventstore.apply_fold(aggregate.fold, state, events);
        version := events[array_length(events, 1)].stream_version;
    END IF;
    RETURN NEXT;
END
$$;

REVOKE ALL ON eventstore.aggregates, eventstore.snapshots FROM PUBLIC;
REVOKE ALL ON FUNCTION eventstore.apply_fold(regprocedure, jsonb, eventstore.event_record[]),
    eventstore.fold_identity(regprocedure, jsonb),
    eventstore.create_aggregate(text, regprocedure, jsonb, integer), eventstore.drop_aggregate(text),
    eventstore.usable_snapshot(text, text, timestamptz, timestamptz),
    eventstore.load_state(text, timestamptz, timestamptz) FROM PUBLIC;
GRANT SELECT ON eventstore.aggregates TO eventstore_reader;
GRANT SELECT ON eventstore.snapshots TO eventstore_admin;
GRANT INSERT ON eventstore.aggregates TO eventstore_admin;
GRANT EXECUTE ON FUNCTION eventstore.apply_fold(regprocedure, jsonb, eventstore.event_record[]),
    eventstore.fold_identity(regprocedure, jsonb), eventstore.usable_snapshot(text, text, timestamptz, timestamptz),
    eventstore.load_state(text, timestamptz, timestamptz) TO eventstore_reader;
GRANT EXECUTE ON FUNCTION eventstore.create_aggregate(text, regprocedure, jsonb, integer),
    eventstore.drop_aggregate(text) TO eventstore_admin;

-- Registers an upcaster: (data jsonb) RETURNS jsonb, for events of
-- event_type at from_schema_version (needs eventstore_admin).  It runs as
-- the role that registered it, on every read.
CREATE FUNCTION eventstore.register_upcaster(event_type text, from_schema_version integer, upcaster regprocedure)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    f record;
BEGIN
    IF event_type IS NULL OR event_type = '' THEN
        RAISE EXCEPTION 'event_type must not be empty' USING ERRCODE = '22023';
    END IF;
    IF from_schema_version IS NULL OR from_schema_version < 1 THEN
        RAISE EXCEPTION 'from_schema_version must be 1 or more, got %', coalesce(from_schema_version::text, 'NULL')
            USING ERRCODE = '22023';
    END IF;
    IF upcaster IS NULL THEN
        RAISE EXCEPTION 'upcaster must not be NULL' USING ERRCODE = '22023';
    END IF;
    SELECT p.pronargs, p.proargtypes, p.prorettype, p.prokind INTO f FROM pg_proc p WHERE p.oid = upcaster;
    IF f.prokind <> 'f' OR f.pronargs <> 1 OR f.proargtypes[0] <> 'jsonb'::regtype OR f.prorettype <> 'jsonb'::regtype THEN
        RAISE EXCEPTION 'upcaster % must take jsonb and return jsonb', upcaster USING ERRCODE = '22023';
    END IF;
    IF NOT has_function_privilege(current_user, upcaster, 'EXECUTE') THEN
        RAISE EXCEPTION 'role % may not execute upcaster %', current_user, upcaster USING ERRCODE = '42501';
    END IF;
    IF EXISTS (SELECT FROM eventstore.upcasters u
               WHERE u.event_type = register_upcaster.event_type
                 AND u.from_schema_version = register_upcaster.from_schema_version) THEN
        RAISE EXCEPTION 'event type "%" already has an upcaster from schema version %', event_type, from_schema_version
            USING ERRCODE = '42710';
    END IF;
    INSERT INTO eventstore.upcasters (event_type, from_schema_version, upcaster, owner_role)
    VALUES (event_type, from_schema_version, upcaster, current_user::regrole);
END
$$;

CREATE FUNCTION eventstore.drop_upcaster(event_type text, from_schema_version integer) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    DELETE FROM eventstore.upcasters u
    WHERE u.event_type = drop_upcaster.event_type AND u.from_schema_version = drop_upcaster.from_schema_version;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'event type "%" has no upcaster from schema version %', coalesce(event_type, 'NULL'),
            coalesce(from_schema_version::text, 'NULL') USING ERRCODE = '42704';
    END IF;
END
$$;

-- ---------------------------------------------------------------------------
-- Where each sequenced event's row is
-- ---------------------------------------------------------------------------
-- Reads in global order (read_all, read_category) found each event by a
-- search of events' primary key, a quarter of their time (0.58x of a plain
-- table holding the same rows).  The sequencer now records each event's row
-- (its ctid) with its position, and both position indexes carry it, so a
-- read goes from the index straight to the row.  A row pointer holds only
-- while events keeps the file it was taken in (VACUUM FULL, CLUSTER and
-- pg_repack write a new file; pg_upgrade keeps it): event_row_file names the
-- file the pointers from a position on belong to, and readers use the
-- primary key for any other position.
ALTER TABLE eventstore.log_positions ADD COLUMN event_row tid;
ALTER TABLE eventstore.log_positions DROP CONSTRAINT log_positions_pkey,
    ADD CONSTRAINT log_positions_pkey PRIMARY KEY (global_position) INCLUDE (event_row);
DROP INDEX eventstore.log_positions_category_idx;
CREATE INDEX log_positions_category_idx ON eventstore.log_positions (category, global_position) INCLUDE (event_row);
CREATE TABLE eventstore.event_row_file (
    singleton     boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    filenode      oid NOT NULL,     -- pg_class.relfilenode of eventstore.events
    from_position bigint NOT NULL   -- the first position whose event_row points into it
);
-- Not dumped: a restored events table is a new file, and the sequencer
-- records it at its first round.
REVOKE ALL ON eventstore.event_row_file FROM PUBLIC;
GRANT SELECT ON eventstore.event_row_file TO eventstore_reader;

-- Row pointers the reads would follow to another event than their
-- position's (only tables written by hand make one); verify_all reports
-- them.  A pointer to no live row (an event updated by hand, whose hash
-- verify_all checks) is harmless: the reads then use the primary key.  A
-- join on ctid: one pass over events, like the rest of verify_all.
CREATE FUNCTION eventstore.check_event_rows()
RETURNS TABLE (stream_id text, first_bad_version bigint, detail text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT p.stream_id, p.stream_version,
           format('global position %s points at row %s, which is version %s of stream "%s"', p.global_position,
                  p.event_row, e.stream_version, e.stream_id)
    FROM eventstore.event_row_file f
    JOIN eventstore.log_positions p ON p.global_position >= f.from_position
    JOIN eventstore.events e ON e.ctid = p.event_row
    WHERE f.filenode = pg_relation_filenode('eventstore.events')
      AND (e.stream_id <> p.stream_id OR e.stream_version <> p.stream_version)
    ORDER BY p.global_position
$$;
REVOKE ALL ON FUNCTION eventstore.check_event_rows() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION eventstore.check_event_rows() TO eventstore_admin;

-- The read functions deliver upcast events (the stored rows never change).
-- They are C (src/pg/log_reader.cpp): each walks the indexes in a fixed
-- plan, so no plan cache mode can turn a stream read quadratic, and the rows
-- are upcast without a call per row.  The caller still needs SELECT on
-- events and log_positions (eventstore_reader has it), checked as a query
-- would.
CREATE OR REPLACE FUNCTION eventstore.read_stream(
    stream_id    text,
    from_version bigint DEFAULT 1,
    max_count    integer DEFAULT 1000)
RETURNS SETOF eventstore.event_record
LANGUAGE c STABLE
AS 'MODULE_PATHNAME', 'eventstore_read_stream';

CREATE OR REPLACE FUNCTION eventstore.read_all(
    after_position bigint DEFAULT 0,
    max_count      integer DEFAULT 1000)
RETURNS SETOF eventstore.event_record
LANGUAGE c STABLE
AS 'MODULE_PATHNAME', 'eventstore_read_all';

CREATE OR REPLACE FUNCTION eventstore.read_category(
    category       text,
    after_position bigint DEFAULT 0,
    max_count      integer DEFAULT 1000)
RETURNS SETOF eventstore.event_record
LANGUAGE c STABLE
AS 'MODULE_PATHNAME', 'eventstore_read_category';

-- max_count is any positive number: a C read stops where the rows end, so
-- 2^31-1 costs what the rows there are cost (as PL/pgSQL it planned a sort
-- of the whole log, and 0.2 had capped it at 10000 for that).  The check
-- lives in log_reader.cpp now.
DROP FUNCTION eventstore.check_max_count(integer);

REVOKE ALL ON eventstore.upcasters FROM PUBLIC;
REVOKE ALL ON FUNCTION eventstore.upcast(eventstore.event_record),
    eventstore.register_upcaster(text, integer, regprocedure), eventstore.drop_upcaster(text, integer) FROM PUBLIC;
GRANT SELECT ON eventstore.upcasters TO eventstore_reader;
GRANT INSERT ON eventstore.upcasters TO eventstore_admin;
GRANT EXECUTE ON FUNCTION eventstore.upcast(eventstore.event_record) TO eventstore_reader;
GRANT EXECUTE ON FUNCTION eventstore.register_upcaster(text, integer, regprocedure),
    eventstore.drop_upcaster(text, integer) TO eventstore_admin;

-- ---------------------------------------------------------------------------
-- Accounting periods (docs/periods.md)
-- ---------------------------------------------------------------------------
-- A category's policy cuts event time into periods (day, week, month,
-- quarter, year in a time zone).  A period is open, then soft-closed at
-- period_end + soft_close_after, then closed at period_end + max_delay (the
-- worker's period clock), or closed early / reopened by an admin.  The
-- append path decides in the append transaction whether an event is late:
-- see src/pg/period_guard.cpp.
CREATE TABLE eventstore.period_policies (
    category         text PRIMARY KEY,
    -- A new id each time a policy is made (not when it is changed): late
    -- events and their resolutions count only under the policy they were
    -- recorded under, so a dropped and re-made policy starts clean.
    policy_id        bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    period           text NOT NULL CHECK (period IN ('day', 'week', 'month', 'quarter', 'year')),
    time_zone        text NOT NULL,
    soft_close_after interval NOT NULL,
    max_delay        interval NOT NULL,
    amount_path      text[],              -- where the amount is in an event's data; NULL: counts only
    -- Every period that ends at or before closed_through is closed unless its
    -- row in period_states says otherwise.  Set when the policy is made (the
    -- periods already past max_delay then), moved on by the period clock.
    closed_through   timestamptz NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now()
);

-- One row per period whose state something changed: the clock (soft close,
-- close) or an admin (early close, reopen).  Periods without a row are open,
-- or closed when they end at or before their policy's closed_through.
CREATE TABLE eventstore.period_states (
    category       text NOT NULL REFERENCES eventstore.period_policies ON DELETE CASCADE,
    period_start   timestamptz NOT NULL,
    period_end     timestamptz NOT NULL,
    state          text NOT NULL CHECK (state IN ('open', 'soft_closed', 'closed')),
    set_by_clock   boolean NOT NULL,      -- false once an admin closed or reopened it: the clock leaves it alone
    soft_closed_at timestamptz,
    closed_at      timestamptz,
    reopened_at    timestamptz,
    close_event_id uuid,                  -- the PeriodClosed event of the latest close
    close_position bigint,                -- that event's global position: filled in by the books
    close_hash     bytea,                 -- the ledger hash at close_position
    closed_events  bigint,                -- what the period counted at close_position
    closed_amount  numeric,
    PRIMARY KEY (category, period_start)
);

-- Events that arrived for a soft-closed period (accepted, counted there, for
-- review) or a closed one (pending: stored, not counted in the closed period,
-- waiting for a resolution).  Written by the append transaction itself.
CREATE TABLE eventstore.late_events (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id            uuid NOT NULL UNIQUE,
    stream_id           text NOT NULL,
    stream_version      bigint NOT NULL,
    category            text NOT NULL,
    event_time          timestamptz NOT NULL,
    period_start        timestamptz NOT NULL,
    period_end          timestamptz NOT NULL,
    arrived_in          text NOT NULL CHECK (arrived_in IN ('soft_closed', 'closed')),
    status              text NOT NULL CHECK (status IN ('accepted', 'pending', 'resolved')),
    action              text CHECK (action IN ('post_to_open_period', 'reopen', 'reject')),
    note                text,
    resolved_by         name,
    resolved_at         timestamptz,
    correction_version  bigint,           -- version of the CorrectionApplied in stream_id
    resolution_event_id uuid UNIQUE,      -- the event that records the resolution
    amount              numeric,          -- the event's amount, as the books counted it
    policy_id           bigint NOT NULL,  -- the policy it was late under (period_policies.policy_id)
    recorded_at         timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'resolved') = (action IS NOT NULL))
);
CREATE INDEX late_events_period_idx ON eventstore.late_events (category, period_start);
-- The exception queue: what still waits for a resolution (few, whatever the history).
CREATE INDEX late_events_pending_idx ON eventstore.late_events (category, period_start) WHERE status = 'pending';

-- The books: per period, every event by its event time (real time, late
-- ones included, rejected ones and corrections not) and what the period
-- counts (late events for a closed period only once resolved into it,
-- corrections posted to it).  A read model the worker keeps from the
-- sequenced log, in global order, exactly once (counted_through).
CREATE TABLE eventstore.period_books (
    category        text NOT NULL,
    period_start    timestamptz NOT NULL,
    events          bigint NOT NULL DEFAULT 0,
    amount          numeric NOT NULL DEFAULT 0,   -- 0 when the policy has no amount_path
    counted_events  bigint NOT NULL DEFAULT 0,
    counted_amount  numeric NOT NULL DEFAULT 0,
    late_events     bigint NOT NULL DEFAULT 0,    -- events that arrived after the period soft-closed or closed
    PRIMARY KEY (category, period_start)
);
CREATE TABLE eventstore.period_books_state (
    singleton       boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    counted_through bigint NOT NULL DEFAULT 0
);
INSERT INTO eventstore.period_books_state DEFAULT VALUES;

-- Policies, states and late events are records; the books are derived and
-- counted again after a restore (counted_through is not dumped).
SELECT pg_catalog.pg_extension_config_dump('eventstore.period_policies', '');
SELECT pg_catalog.pg_extension_config_dump('eventstore.period_states', '');
SELECT pg_catalog.pg_extension_config_dump('eventstore.late_events', '');
SELECT pg_catalog.pg_extension_config_dump('eventstore.late_events_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('eventstore.period_policies_policy_id_seq', '');

-- The period that holds t, and where a period that starts at `start` ends.
CREATE FUNCTION eventstore.period_start_of(period text, time_zone text, t timestamptz) RETURNS timestamptz
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT date_trunc(period, t, time_zone) $$;

CREATE FUNCTION eventstore.period_end_of(period text, time_zone text, start timestamptz) RETURNS timestamptz
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT (timezone(time_zone, start)
            + CASE period WHEN 'quarter' THEN interval '3 months' ELSE ('1 ' || period)::interval END)
           AT TIME ZONE time_zone
$$;

-- Takes the category's period lock in ACCESS EXCLUSIVE mode for the rest of
-- the transaction (appends to the category hold it in ACCESS SHARE mode, so
-- this waits for appends in flight and holds new ones back), and tells every
-- append path to reload its cached periods once this transaction commits.
-- With exclusive => false, ACCESS SHARE like an append: the periods cannot
-- change under the caller, who changes none.
CREATE FUNCTION eventstore.lock_period_rules(category text, exclusive boolean DEFAULT true) RETURNS void
LANGUAGE c STRICT VOLATILE
AS 'MODULE_PATHNAME', 'eventstore_lock_period_rules';

-- Appends one record of the period audit trail to the stream
-- '$period-<category>', which no application can append to.
CREATE FUNCTION eventstore.append_period_record(category text, event_type text, data jsonb) RETURNS bigint
LANGUAGE c STRICT VOLATILE
AS 'MODULE_PATHNAME', 'eventstore_append_period_record';

-- The amount an event carries at path; NULL without a path, 0 when it is not a number.
CREATE FUNCTION eventstore.amount_at(data jsonb, path text[]) RETURNS numeric
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN path IS NULL THEN NULL
                WHEN jsonb_typeof(data #> path) = 'number' THEN (data #>> path)::numeric
                ELSE 0 END
$$;

-- The state of the period that holds t, by the same rule the append path
-- applies: its row, else closed when it ended by closed_through, else open.
CREATE FUNCTION eventstore.period_state_at(category text, t timestamptz)
RETURNS TABLE(period_start timestamptz, period_end timestamptz, state text)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT b.start, eventstore.period_end_of(p.period, p.time_zone, b.start),
           coalesce(s.state, CASE WHEN eventstore.period_end_of(p.period, p.time_zone, b.start) <= p.closed_through
                                  THEN 'closed' ELSE 'open' END)
    FROM eventstore.period_policies p
    CROSS JOIN LATERAL (SELECT eventstore.period_start_of(p.period, p.time_zone, t) AS start) b
    LEFT JOIN eventstore.period_states s ON s.category = p.category AND s.period_start = b.start
    WHERE p.category = period_state_at.category
$$;

-- Moves one period to a new state: the row, and the audit record in the
-- category's '$period-' stream (who, when, why), in one transaction under
-- the category's period lock.
CREATE FUNCTION eventstore.move_period(category text, period_start timestamptz, new_state text,
                                       reason text, by_clock boolean, clock_now timestamptz)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    old_state text;
    period_end timestamptz;
    record_type text := CASE new_state WHEN 'soft_closed' THEN 'PeriodSoftClosed'
                                       WHEN 'closed' THEN 'PeriodClosed' ELSE 'PeriodReopened' END;
    record_id uuid := gen_random_uuid();
BEGIN
    PERFORM eventstore.lock_period_rules(category);
    SELECT s.state, s.period_end INTO old_state, period_end
    FROM eventstore.period_state_at(category, period_start) s;
    INSERT INTO eventstore.period_states AS s (category, period_start, period_end, state, set_by_clock,
                                               soft_closed_at, closed_at, reopened_at, close_event_id)
    VALUES (category, period_start, period_end, new_state, by_clock,
            CASE WHEN new_state = 'soft_closed' THEN clock_now END,
            CASE WHEN new_state = 'closed' THEN clock_now END,
            CASE WHEN new_state = 'open' THEN clock_now END,
            CASE WHEN new_state = 'closed' THEN record_id END)
    ON CONFLICT ON CONSTRAINT period_states_pkey DO UPDATE SET
        state = excluded.state,
        set_by_clock = excluded.set_by_clock,
        soft_closed_at = coalesce(excluded.soft_closed_at, s.soft_closed_at),
        closed_at = CASE WHEN excluded.state = 'open' THEN s.closed_at ELSE coalesce(excluded.closed_at, s.closed_at) END,
        reopened_at = coalesce(excluded.reopened_at, s.reopened_at),
        close_event_id = CASE WHEN excluded.state = 'closed' THEN excluded.close_event_id ELSE s.close_event_id END,
        close_position = CASE WHEN excluded.state = 'closed' THEN NULL ELSE s.close_position END,
        close_hash = CASE WHEN excluded.state = 'closed' THEN NULL ELSE s.close_hash END,
        closed_events = CASE WHEN excluded.state = 'closed' THEN NULL ELSE s.closed_events END,
        closed_amount = CASE WHEN excluded.state = 'closed' THEN NULL ELSE s.closed_amount END;
    PERFORM eventstore.append_period_record(category, record_type, jsonb_build_object(
        'record_id', record_id, 'category', category, 'period_start', period_start, 'period_end', period_end,
        'from_state', old_state, 'to_state', new_state, 'reason', reason,
        'by', CASE WHEN by_clock THEN 'period clock' ELSE session_user::text END, 'at', clock_now,
        'session_user', session_user::text));
END
$$;

-- The period clock: soft-closes and closes the periods that are due at
-- clock_now (the worker passes the time; tests may pass any time) and moves
-- each policy's closed_through past the periods that are settled.  Periods
-- an admin closed or reopened are left alone.  Returns the moves made.
CREATE FUNCTION eventstore.run_period_clock(clock_now timestamptz DEFAULT now(), only_category text DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    policy eventstore.period_policies;
    start timestamptz;
    finish timestamptz;
    row_state text;
    row_by_clock boolean;
    settled boolean;
    horizon timestamptz;
    moves integer := 0;
    steps integer;
BEGIN
    IF clock_now IS NULL THEN
        RAISE EXCEPTION 'clock_now must not be NULL' USING ERRCODE = '22023';
    END IF;
    -- Running the clock ahead closes periods early without a reason: a
    -- superuser's tool (tests), not an admin's; admins close with close_period.
    IF clock_now > now() AND NOT (SELECT r.rolsuper FROM pg_roles r WHERE r.rolname = session_user) THEN
        RAISE EXCEPTION 'only a superuser may run the period clock ahead of the time'
            USING ERRCODE = '42501', HINT = 'Close a period early with eventstore.close_period, with a reason.';
    END IF;
    FOR policy IN SELECT * FROM eventstore.period_policies p
                  WHERE only_category IS NULL OR p.category = only_category ORDER BY p.category LOOP
        start := policy.closed_through;
        horizon := policy.closed_through;
        settled := true;
        steps := 0;
        LOOP
            finish := eventstore.period_end_of(policy.period, policy.time_zone, start);
            -- At most 1000 periods per call: a long outage with daily periods catches up over a few rounds.
            EXIT WHEN finish + policy.soft_close_after > clock_now OR steps >= 1000;
            steps := steps + 1;
            SELECT s.state, s.set_by_clock INTO row_state, row_by_clock
            FROM eventstore.period_states s WHERE s.category = policy.category AND s.period_start = start;
            IF NOT FOUND OR (row_by_clock AND row_state = 'soft_closed') THEN
                IF finish + policy.max_delay <= clock_now THEN
                    PERFORM eventstore.move_period(policy.category, start, 'closed', 'max_delay passed', true, clock_now);
                    moves := moves + 1;
                    row_state := 'closed';
                ELSIF NOT FOUND OR row_state IS NULL THEN
                    PERFORM eventstore.move_period(policy.category, start, 'soft_closed', 'soft_close_after passed',
                                                   true, clock_now);
                    moves := moves + 1;
                    row_state := 'soft_closed';
                    row_by_clock := true;
                END IF;
            END IF;
            settled := settled AND (row_state = 'closed' OR NOT row_by_clock);
            IF settled THEN
                horizon := finish;
            END IF;
            row_state := NULL;
            row_by_clock := NULL;
            start := finish;
        END LOOP;
        IF horizon <> policy.closed_through THEN
            PERFORM eventstore.lock_period_rules(policy.category);
            UPDATE eventstore.period_policies p SET closed_through = horizon WHERE p.category = policy.category;
        END IF;
    END LOOP;
    RETURN moves;
END
$$;

-- Counts the events of positions (after_position, through_position] into the
-- books: each event of a category with a policy in the period of its event
-- time, in real time; in what the period counts unless it arrived after its
-- period closed; a correction counts in its own period but not in real time.
-- Only one category when only_category is given (a new policy counts its
-- past this way).
CREATE FUNCTION eventstore.count_period_stretch(after_position bigint, through_position bigint,
                                                only_category text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- Upcast data, as applications read it: the amount is where they see it.
    WITH stretch AS (
        SELECT u.event_id, p.category, eventstore.period_start_of(p.period, p.time_zone, u.event_time) AS period_start,
               CASE WHEN c.event_id IS NULL THEN eventstore.amount_at(u.data, p.amount_path)
                    ELSE eventstore.amount_at(u.data -> 'original_data', p.amount_path) END AS amount,
               l.arrived_in AS arrived_late_in, c.event_id IS NOT NULL AS correction
        FROM eventstore.sequenced_events s
        JOIN eventstore.period_policies p ON p.category = s.category
        CROSS JOIN LATERAL eventstore.upcast(s.event) u
        LEFT JOIN eventstore.late_events l ON l.event_id = u.event_id AND l.policy_id = p.policy_id
        LEFT JOIN eventstore.late_events c ON c.resolution_event_id = u.event_id AND c.action = 'post_to_open_period'
                                          AND c.policy_id = p.policy_id
        WHERE s.global_position > after_position AND s.global_position <= through_position
          AND (only_category IS NULL OR s.category = only_category)
    ),
    -- Late events keep their amount, for their resolutions.
    late_amounts AS (
        UPDATE eventstore.late_events l SET amount = t.amount
        FROM stretch t WHERE t.arrived_late_in IS NOT NULL AND l.event_id = t.event_id
    )
    INSERT INTO eventstore.period_books AS b (category, period_start, events, amount, counted_events, counted_amount,
                                              late_events)
    SELECT t.category, t.period_start,
           count(*) FILTER (WHERE NOT t.correction),
           coalesce(sum(t.amount) FILTER (WHERE NOT t.correction), 0),
           count(*) FILTER (WHERE t.arrived_late_in IS DISTINCT FROM 'closed'),
           coalesce(sum(t.amount) FILTER (WHERE t.arrived_late_in IS DISTINCT FROM 'closed'), 0),
           count(*) FILTER (WHERE t.arrived_late_in IS NOT NULL)
    FROM stretch t
    GROUP BY t.category, t.period_start
    ON CONFLICT ON CONSTRAINT period_books_pkey DO UPDATE SET
        events = b.events + excluded.events,
        amount = b.amount + excluded.amount,
        counted_events = b.counted_events + excluded.counted_events,
        counted_amount = b.counted_amount + excluded.counted_amount,
        late_events = b.late_events + excluded.late_events;
END
$$;

-- Applies one record of a '$period-' stream to the books: a close freezes
-- what its period counts at exactly the close's position; a late event
-- accepted into its reopened period starts counting there.
CREATE FUNCTION eventstore.apply_period_record(at_position bigint, only_category text DEFAULT NULL) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    e eventstore.event_record;
    ledger bytea;
BEGIN
    SELECT (s.event).* INTO e FROM eventstore.sequenced_events s WHERE s.global_position = at_position;
    IF only_category IS NOT NULL AND e.stream_id <> '$period-' || only_category THEN
        RETURN;
    END IF;
    -- A recount of one category (a changed policy) leaves what closes froze as it was.
    IF e.event_type = 'PeriodClosed' AND only_category IS NULL THEN
        SELECT lp.ledger_hash INTO ledger FROM eventstore.log_positions lp WHERE lp.global_position = at_position;
        UPDATE eventstore.period_states s
        SET close_position = at_position, close_hash = ledger,
            closed_events = coalesce(b.counted_events, 0), closed_amount = coalesce(b.counted_amount, 0)
        FROM (SELECT 1) one
        LEFT JOIN eventstore.period_books b
            ON b.category = e.data ->> 'category' AND b.period_start = (e.data ->> 'period_start')::timestamptz
        WHERE s.category = e.data ->> 'category' AND s.period_start = (e.data ->> 'period_start')::timestamptz
          AND s.close_event_id = (e.data ->> 'record_id')::uuid
          -- Frozen once: a recount (after a restore) leaves what the close counted.
          AND s.close_position IS NULL;
    ELSIF e.event_type IN ('LateEventAccepted', 'LateEventRejected') THEN
        -- Accepted into its reopened period: it counts there from now on.
        -- Rejected: out of real time, and out of what its period counts if
        -- it counted there (it arrived while the period was soft-closed).
        INSERT INTO eventstore.period_books AS b (category, period_start, events, amount,
                                                  counted_events, counted_amount)
        SELECT l.category, l.period_start, x.events, x.events * coalesce(l.amount, 0), x.counted,
               x.counted * coalesce(l.amount, 0)
        FROM eventstore.late_events l
        JOIN eventstore.period_policies pp ON pp.category = l.category AND pp.policy_id = l.policy_id
        CROSS JOIN LATERAL (SELECT CASE WHEN e.event_type = 'LateEventAccepted' THEN 0 ELSE -1 END AS events,
                                   CASE WHEN e.event_type = 'LateEventAccepted' THEN 1
                                        WHEN l.arrived_in = 'soft_closed' THEN -1 ELSE 0 END AS counted) x
        -- Matched by the record's own event id, which resolve_late_event kept:
        -- a record that did not come from it (say, written to a '$period'
        -- stream before 0.2 reserved them) matches nothing.
        WHERE l.resolution_event_id = e.event_id AND e.stream_id = '$period-' || l.category
        ON CONFLICT ON CONSTRAINT period_books_pkey DO UPDATE SET
            events = b.events + excluded.events,
            amount = b.amount + excluded.amount,
            counted_events = b.counted_events + excluded.counted_events,
            counted_amount = b.counted_amount + excluded.counted_amount;
    END IF;
END
$$;

-- Counts positions (after_position, through_position] into the books,
-- stopping at each '$period-' record to apply it in its place in the global
-- order.  Only one category when only_category is given.
CREATE FUNCTION eventstore.count_period_log(after_position bigint, through_position bigint,
                                            only_category text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    segment_start bigint := after_position;
    record_position bigint;
BEGIN
    FOR record_position IN
        SELECT lp.global_position FROM eventstore.log_positions lp
        WHERE lp.global_position > after_position AND lp.global_position <= through_position
          AND lp.category = '$period'
        ORDER BY lp.global_position
    LOOP
        PERFORM eventstore.count_period_stretch(segment_start, record_position - 1, only_category);
        PERFORM eventstore.apply_period_record(record_position, only_category);
        segment_start := record_position;
    END LOOP;
    PERFORM eventstore.count_period_stretch(segment_start, through_position, only_category);
END
$$;

-- verify_all's check of the period closes: each closed period's
-- close_position must hold its PeriodClosed record in the log, and
-- close_hash must be the ledger hash there (so the "as closed" totals can
-- be reproduced from the log, and a rewritten close shows).
CREATE FUNCTION eventstore.check_period_closes()
RETURNS TABLE (stream_id text, first_bad_version bigint, detail text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT '$period-' || s.category, e.stream_version,
           format('the close of period %s of "%s" says position %s and ledger hash %s, but the log has %s there',
                  s.period_start, s.category, s.close_position, encode(s.close_hash, 'hex'),
                  CASE WHEN lp.global_position IS NULL THEN 'no event'
                       WHEN lp.ledger_hash IS DISTINCT FROM s.close_hash
                           THEN 'ledger hash ' || encode(lp.ledger_hash, 'hex')
                       ELSE format('%s %s of %s', e.event_type, e.stream_version, e.stream_id) END)
    FROM eventstore.period_states s
    LEFT JOIN eventstore.log_positions lp ON lp.global_position = s.close_position
    LEFT JOIN eventstore.events e ON e.stream_id = lp.stream_id AND e.stream_version = lp.stream_version
    WHERE s.state = 'closed' AND s.close_position IS NOT NULL
      AND (lp.global_position IS NULL OR lp.ledger_hash IS DISTINCT FROM s.close_hash
           OR e.stream_id <> '$period-' || s.category OR e.event_type <> 'PeriodClosed'
           OR e.data ->> 'record_id' IS DISTINCT FROM s.close_event_id::text)
$$;

-- The worker's books step: counts up to max_positions further positions of
-- the sequenced log.  Returns whether more is sequenced than it counted.
CREATE FUNCTION eventstore.count_period_books(max_positions integer DEFAULT 5000) RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    from_position bigint;
    head bigint;
    to_position bigint;
BEGIN
    -- Nothing to count without a policy (the books start counting from where
    -- they stopped once one exists), or when the books are at the head: no
    -- lock then, so a store without periods, or an idle one, writes nothing.
    IF NOT EXISTS (SELECT FROM eventstore.period_policies) THEN
        RETURN false;
    END IF;
    SELECT coalesce(max(lp.global_position), 0) INTO head FROM eventstore.log_positions lp;
    IF head <= (SELECT st.counted_through FROM eventstore.period_books_state st) THEN
        RETURN false;
    END IF;
    -- Locked before the policies are read again below, so a new policy
    -- (which locks this row too) is seen whole.  While a new policy counts
    -- its past (holding the row), the books wait for the next round rather
    -- than for the lock.
    SELECT st.counted_through INTO from_position FROM eventstore.period_books_state st FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    to_position := least(head, from_position + max_positions);
    IF to_position <= from_position THEN
        RETURN false;
    END IF;
    PERFORM eventstore.count_period_log(from_position, to_position);
    UPDATE eventstore.period_books_state SET counted_through = to_position;
    RETURN to_position < head;
END
$$;

CREATE FUNCTION eventstore.set_period_policy(category text, period text DEFAULT 'month', time_zone text DEFAULT 'UTC',
                                             soft_close_after interval DEFAULT '0',
                                             max_delay interval DEFAULT '5 days',
                                             amount_path text[] DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    existing eventstore.period_policies;
    counted bigint;
BEGIN
    IF category IS NULL OR category = '' OR position('-' IN category) > 0 OR left(category, 1) = '$' THEN
        RAISE EXCEPTION 'category % is not a category: it must be non-empty, contain no "-" and not start with "$"',
            coalesce(quote_literal(category), 'NULL') USING ERRCODE = '22023';
    END IF;
    IF period IS NULL OR period NOT IN ('day', 'week', 'month', 'quarter', 'year') THEN
        RAISE EXCEPTION 'unknown period %', coalesce(quote_literal(period), 'NULL') USING ERRCODE = '22023',
            HINT = 'A period is one of day, week, month, quarter, year.';
    END IF;
    IF time_zone IS NULL OR NOT EXISTS (SELECT FROM pg_timezone_names z WHERE z.name = time_zone) THEN
        RAISE EXCEPTION 'unknown time zone %', coalesce(quote_literal(time_zone), 'NULL') USING ERRCODE = '22023',
            HINT = 'Use a name from pg_timezone_names, such as ''UTC'' or ''Europe/Berlin''.';
    END IF;
    IF soft_close_after IS NULL OR soft_close_after < interval '0' THEN
        RAISE EXCEPTION 'soft_close_after must be zero or more, got %', coalesce(soft_close_after::text, 'NULL')
            USING ERRCODE = '22023';
    END IF;
    IF max_delay IS NULL OR max_delay < soft_close_after THEN
        RAISE EXCEPTION 'max_delay must be at least soft_close_after (%), got %', soft_close_after,
            coalesce(max_delay::text, 'NULL') USING ERRCODE = '22023';
    END IF;
    IF amount_path IS NOT NULL AND (cardinality(amount_path) = 0 OR array_position(amount_path, NULL) IS NOT NULL) THEN
        RAISE EXCEPTION 'amount_path must name a field, such as ''{amount}''' USING ERRCODE = '22023';
    END IF;

    -- Serializes with the worker's books step, which then sees this policy whole.
    SELECT st.counted_through INTO counted FROM eventstore.period_books_state st FOR UPDATE;
    SELECT * INTO existing FROM eventstore.period_policies p WHERE p.category = set_period_policy.category;
    IF FOUND AND (existing.period <> period OR existing.time_zone <> time_zone)
       AND EXISTS (SELECT FROM eventstore.period_states s WHERE s.category = set_period_policy.category) THEN
        RAISE EXCEPTION 'category "%" already has % periods in %; the period and time zone cannot change',
            category, existing.period, existing.time_zone USING ERRCODE = '22023',
            HINT = 'Drop the policy first (its states and books go; the audit trail stays in the log).';
    END IF;
    INSERT INTO eventstore.period_policies AS p (category, period, time_zone, soft_close_after, max_delay,
                                                 amount_path, closed_through)
    VALUES (category, period, time_zone, soft_close_after, max_delay, amount_path,
            -- The periods already past max_delay when the policy is made are closed.
            eventstore.period_start_of(period, time_zone, now() - max_delay))
    ON CONFLICT ON CONSTRAINT period_policies_pkey DO UPDATE SET
        period = excluded.period, time_zone = excluded.time_zone, soft_close_after = excluded.soft_close_after,
        max_delay = excluded.max_delay, amount_path = excluded.amount_path,
        closed_through = CASE WHEN p.period = excluded.period AND p.time_zone = excluded.time_zone
                              THEN p.closed_through ELSE excluded.closed_through END;
    -- Count the category's past into the books (the worker counts the rest),
    -- for a new policy or one that counts differently now.
    IF existing.category IS NULL OR existing.period <> period OR existing.time_zone <> time_zone
       OR existing.amount_path IS DISTINCT FROM amount_path THEN
        DELETE FROM eventstore.period_books b WHERE b.category = set_period_policy.category;
        PERFORM eventstore.count_period_log(0, counted, category);
    END IF;
    -- Only now the category's period lock: appends to the category went on
    -- during the count (10 s for a million past events); the policy applies
    -- to appends from this commit on, and this waits for the ones in flight.
    PERFORM eventstore.lock_period_rules(category);
    PERFORM eventstore.run_period_clock(now(), category);
    PERFORM eventstore.wake_worker_at_commit();
END
$$;

CREATE FUNCTION eventstore.drop_period_policy(category text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- The books' row first, then the period lock: the order set_period_policy takes them in.
    PERFORM FROM eventstore.period_books_state FOR UPDATE;
    PERFORM eventstore.lock_period_rules(coalesce(category, ''));
    DELETE FROM eventstore.period_policies p WHERE p.category = drop_period_policy.category;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'category "%" has no period policy', coalesce(category, 'NULL') USING ERRCODE = '42704';
    END IF;
    DELETE FROM eventstore.period_books b WHERE b.category = drop_period_policy.category;
END
$$;

-- Checks that period_start starts a period of the category's policy; returns the policy.
CREATE FUNCTION eventstore.checked_period(category text, period_start timestamptz, reason text)
RETURNS eventstore.period_policies
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    policy eventstore.period_policies;
BEGIN
    SELECT * INTO policy FROM eventstore.period_policies p WHERE p.category = checked_period.category;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'category "%" has no period policy', coalesce(category, 'NULL') USING ERRCODE = '42704';
    END IF;
    IF period_start IS NULL
       OR eventstore.period_start_of(policy.period, policy.time_zone, period_start) <> period_start THEN
        RAISE EXCEPTION '% does not start a % of category "%"', coalesce(period_start::text, 'NULL'),
            policy.period, category USING ERRCODE = '22023',
            HINT = format('The period that holds it starts at %s.',
                          eventstore.period_start_of(policy.period, policy.time_zone, period_start));
    END IF;
    IF reason IS NULL OR btrim(reason) = '' THEN
        RAISE EXCEPTION 'a reason is required' USING ERRCODE = '22023';
    END IF;
    RETURN policy;
END
$$;

-- close_period and reopen_period: an admin moves one period, with a reason;
-- the clock leaves the period alone from then on.
CREATE FUNCTION eventstore.move_period_by_hand(category text, period_start timestamptz, reason text,
                                               new_state text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    current_state text;
BEGIN
    PERFORM eventstore.checked_period(category, period_start, reason);
    IF new_state = 'closed' AND period_start > now() THEN
        RAISE EXCEPTION 'the period starting % has not begun', period_start USING ERRCODE = '22023';
    END IF;
    PERFORM eventstore.lock_period_rules(category);
    SELECT s.state INTO current_state FROM eventstore.period_state_at(category, period_start) s;
    IF current_state = new_state THEN
        RAISE EXCEPTION 'the period of "%" starting % is already %', category, period_start, new_state
            USING ERRCODE = '22023';
    END IF;
    PERFORM eventstore.move_period(category, period_start, new_state, reason, false, now());
    PERFORM eventstore.wake_worker_at_commit();
END
$$;

CREATE FUNCTION eventstore.close_period(category text, period_start timestamptz, reason text) RETURNS void
LANGUAGE sql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$ SELECT eventstore.move_period_by_hand(category, period_start, reason, 'closed') $$;

CREATE FUNCTION eventstore.reopen_period(category text, period_start timestamptz, reason text) RETURNS void
LANGUAGE sql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$ SELECT eventstore.move_period_by_hand(category, period_start, reason, 'open') $$;

-- The exception workflow: one resolution per late event, recorded with who,
-- when and why, and an event in the log (docs/periods.md).
CREATE FUNCTION eventstore.resolve_late_event(id bigint, action text, note text) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    late eventstore.late_events;
    original eventstore.event_record;
    target record;
    new_version bigint;
    new_event_id uuid := gen_random_uuid();
    in_stream boolean := true;
BEGIN
    IF action IS NULL OR action NOT IN ('post_to_open_period', 'reopen', 'reject') THEN
        RAISE EXCEPTION 'unknown action %', coalesce(quote_literal(action), 'NULL') USING ERRCODE = '22023',
            HINT = 'An action is one of post_to_open_period, reopen, reject.';
    END IF;
    SELECT * INTO late FROM eventstore.late_events l WHERE l.id = resolve_late_event.id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no late event has id %', coalesce(id::text, 'NULL') USING ERRCODE = '42704';
    END IF;
    IF late.status = 'resolved' THEN
        RAISE EXCEPTION 'late event % is already resolved (%, by %)', id, late.action, late.resolved_by
            USING ERRCODE = '22023', DETAIL = format('Resolved at %s: %s', late.resolved_at, late.note);
    END IF;
    IF NOT EXISTS (SELECT FROM eventstore.period_policies p
                   WHERE p.category = late.category AND p.policy_id = late.policy_id) THEN
        RAISE EXCEPTION 'late event % was recorded under a period policy of "%" that has since been dropped', id,
            late.category USING ERRCODE = '22023';
    END IF;
    IF action <> 'reject' AND late.arrived_in <> 'closed' THEN
        RAISE EXCEPTION 'late event % arrived in a soft-closed period and is counted there; it can only be rejected', id
            USING ERRCODE = '22023';
    END IF;
    -- Like an append: no close can come between the checks below and the
    -- records; ACCESS EXCLUSIVE here would deadlock with an append that
    -- holds the late event's stream and waits for the period lock.
    PERFORM eventstore.lock_period_rules(late.category, exclusive => false);
    -- The event as applications read it (upcast), sequenced or not yet.
    SELECT (eventstore.upcast(ROW(NULL, e.stream_id, e.stream_version, e.event_id, e.event_type, e.schema_version,
                                  e.data, e.metadata, e.event_time, e.ingest_time, e.hash)::eventstore.event_record)).*
    INTO original
    FROM eventstore.events e WHERE e.event_id = late.event_id;
    IF action = 'post_to_open_period' THEN
        SELECT * INTO target FROM eventstore.period_state_at(late.category, now());
        IF target.state IS DISTINCT FROM 'open' THEN
            RAISE EXCEPTION 'the current period of "%" (starting %) is not open', late.category, target.period_start
                USING ERRCODE = '22023';
        END IF;
        new_version := eventstore.append(late.stream_id, 'CorrectionApplied',
            jsonb_build_object('late_event_id', late.id, 'original_event_id', late.event_id,
                               'original_event_type', original.event_type,
                               'original_stream_version', late.stream_version,
                               'original_event_time', late.event_time,
                               'original_period_start', late.period_start, 'original_period_end', late.period_end,
                               'original_data', original.data),
            jsonb_build_object('causation_id', late.event_id, 'note', note),
            event_id => new_event_id);
    ELSE
        IF action = 'reopen' THEN
            SELECT * INTO target FROM eventstore.period_state_at(late.category, late.period_start);
            IF target.state IS DISTINCT FROM 'open' THEN
                RAISE EXCEPTION 'the period of "%" starting % is %: reopen it with reopen_period first',
                    late.category, late.period_start, target.state USING ERRCODE = '22023';
            END IF;
        END IF;
        -- Acceptance and rejection are records of the audit trail, not events of the business stream.
        in_stream := false;
        new_version := eventstore.append_period_record(late.category,
            CASE action WHEN 'reopen' THEN 'LateEventAccepted' ELSE 'LateEventRejected' END,
            jsonb_build_object('late_event_id', late.id, 'event_id', late.event_id,
                               'stream_id', late.stream_id, 'stream_version', late.stream_version,
                               'period_start', late.period_start, 'note', note, 'by', session_user::text));
        SELECT e.event_id INTO new_event_id FROM eventstore.events e
        WHERE e.stream_id = '$period-' || late.category AND e.stream_version = new_version;
    END IF;
    UPDATE eventstore.late_events l
    SET status = 'resolved', action = resolve_late_event.action, note = resolve_late_event.note,
        resolved_by = session_user, resolved_at = now(),
        correction_version = CASE WHEN in_stream THEN new_version END, resolution_event_id = new_event_id
    WHERE l.id = late.id;
    PERFORM eventstore.wake_worker_at_commit();
    RETURN new_version;
END
$$;

-- What analysts and auditors read (docs/periods.md, "The views").
-- Every period a policy's category has touched: by a state change, a
-- pending late event or an event the books counted (late_events is counted by the books too; the
-- open exceptions are read from the queue itself, through its partial
-- index, so a resolution shows at once and a long history costs nothing).
CREATE VIEW eventstore.periods AS
    SELECT k.category, k.period_start, x.period_end,
           coalesce(s.state, CASE WHEN x.period_end <= p.closed_through THEN 'closed' ELSE 'open' END) AS state,
           s.soft_closed_at, s.closed_at, s.close_position, s.close_hash,
           coalesce(b.late_events, 0) AS late_events,
           (SELECT count(*) FROM eventstore.late_events le
            WHERE le.category = k.category AND le.period_start = k.period_start AND le.status = 'pending'
              AND le.policy_id = p.policy_id) AS open_exceptions
    FROM (SELECT st.category, st.period_start FROM eventstore.period_states st
          UNION SELECT bk.category, bk.period_start FROM eventstore.period_books bk
          -- A pending late event shows its period at once, before the books count it.
          UNION SELECT le.category, le.period_start FROM eventstore.late_events le
                WHERE le.status = 'pending'
                  AND EXISTS (SELECT FROM eventstore.period_policies pp
                              WHERE pp.category = le.category AND pp.policy_id = le.policy_id)) k
    JOIN eventstore.period_policies p ON p.category = k.category
    CROSS JOIN LATERAL (SELECT eventstore.period_end_of(p.period, p.time_zone, k.period_start) AS period_end) x
    LEFT JOIN eventstore.period_states s ON s.category = k.category AND s.period_start = k.period_start
    LEFT JOIN eventstore.period_books b ON b.category = k.category AND b.period_start = k.period_start;

-- Real time: per period, every event by its event time, late ones included
-- (rejected ones and corrections not); and what the period counts now.
CREATE VIEW eventstore.period_totals AS
    SELECT pd.category, pd.period_start, pd.period_end, pd.state,
           coalesce(b.events, 0) AS events,
           CASE WHEN p.amount_path IS NOT NULL THEN coalesce(b.amount, 0) END AS amount,
           coalesce(b.counted_events, 0) AS counted_events,
           CASE WHEN p.amount_path IS NOT NULL THEN coalesce(b.counted_amount, 0) END AS counted_amount,
           pd.late_events, pd.open_exceptions
    FROM eventstore.periods pd
    JOIN eventstore.period_policies p ON p.category = pd.category
    LEFT JOIN eventstore.period_books b ON b.category = pd.category AND b.period_start = pd.period_start;

-- As closed: exactly what each closed period counted at its close, with the
-- position and ledger hash to reproduce it from the log.
CREATE VIEW eventstore.period_totals_as_closed AS
    SELECT s.category, s.period_start, s.period_end, s.closed_at, s.close_position, s.close_hash,
           s.closed_events AS events,
           CASE WHEN p.amount_path IS NOT NULL THEN s.closed_amount END AS amount
    FROM eventstore.period_states s
    JOIN eventstore.period_policies p ON p.category = s.category
    WHERE s.state = 'closed';

-- Corrections: per period, the events that arrived after it soft-closed or
-- closed, with their resolution and the correction posted for them.
CREATE VIEW eventstore.period_corrections AS
    SELECT l.category, l.period_start, l.period_end, l.id AS late_event_id, l.event_id, l.stream_id,
           l.stream_version, l.event_time, e.ingest_time, l.arrived_in, l.amount, l.status, l.action, l.note,
           l.resolved_by, l.resolved_at, l.correction_version, c.event_time AS correction_time,
           CASE WHEN c.event_time IS NOT NULL
                THEN eventstore.period_start_of(p.period, p.time_zone, c.event_time) END AS correction_period_start
    FROM eventstore.late_events l
    JOIN eventstore.events e ON e.event_id = l.event_id
    LEFT JOIN eventstore.period_policies p ON p.category = l.category
    LEFT JOIN eventstore.events c ON c.event_id = l.resolution_event_id AND l.action = 'post_to_open_period';

REVOKE ALL ON eventstore.period_policies, eventstore.period_states, eventstore.late_events,
    eventstore.period_books, eventstore.period_books_state FROM PUBLIC;
REVOKE ALL ON FUNCTION eventstore.period_start_of(text, text, timestamptz),
    eventstore.period_end_of(text, text, timestamptz), eventstore.lock_period_rules(text, boolean),
    eventstore.append_period_record(text, text, jsonb), eventstore.amount_at(jsonb, text[]),
    eventstore.period_state_at(text, timestamptz),
    eventstore.move_period(text, timestamptz, text, text, boolean, timestamptz),
    eventstore.run_period_clock(timestamptz, text), eventstore.count_period_stretch(bigint, bigint, text),
    eventstore.apply_period_record(bigint, text), eventstore.count_period_log(bigint, bigint, text),
    eventstore.check_period_closes(),
    eventstore.count_period_books(integer),
    eventstore.set_period_policy(text, text, text, interval, interval, text[]),
    eventstore.drop_period_policy(text), eventstore.checked_period(text, timestamptz, text),
    eventstore.move_period_by_hand(text, timestamptz, text, text),
    eventstore.close_period(text, timestamptz, text), eventstore.reopen_period(text, timestamptz, text),
    eventstore.resolve_late_event(bigint, text, text) FROM PUBLIC;
GRANT SELECT ON eventstore.period_policies, eventstore.periods, eventstore.period_totals,
    eventstore.period_totals_as_closed, eventstore.period_corrections TO eventstore_reader;
GRANT SELECT ON eventstore.period_states, eventstore.late_events, eventstore.period_books,
    eventstore.period_books_state TO eventstore_admin;
GRANT EXECUTE ON FUNCTION eventstore.check_period_closes() TO eventstore_admin;
GRANT EXECUTE ON FUNCTION eventstore.period_start_of(text, text, timestamptz),
    eventstore.period_end_of(text, text, timestamptz), eventstore.period_state_at(text, timestamptz)
TO eventstore_reader;
GRANT EXECUTE ON FUNCTION eventstore.set_period_policy(text, text, text, interval, interval, text[]),
    eventstore.drop_period_policy(text), eventstore.close_period(text, timestamptz, text),
    eventstore.reopen_period(text, timestamptz, text), eventstore.resolve_late_event(bigint, text, text),
    eventstore.run_period_clock(timestamptz, text)
TO eventstore_admin;

-- How far the worker's books are behind the sequenced log.
CREATE VIEW eventstore.period_books_status AS
    SELECT st.counted_through,
           coalesce((SELECT max(lp.global_position) FROM eventstore.log_positions lp), 0) AS sequenced_position,
           CASE WHEN EXISTS (SELECT FROM eventstore.period_policies)
                THEN greatest(coalesce((SELECT max(lp.global_position) FROM eventstore.log_positions lp), 0)
                              - st.counted_through, 0)
                ELSE 0 END AS lag_events
    FROM eventstore.period_books_state st;

-- ---------------------------------------------------------------------------
-- Tamper evidence: Merkle tree, signed checkpoints, proofs (docs/tamper-evidence.md)
-- ---------------------------------------------------------------------------
-- The log's Merkle tree (RFC 9162) over the ledger hashes in position order,
-- as blocks: perfect subtrees of 2^level positions aligned at a multiple of
-- their size, stored by the worker from level 8 (256 positions) up.  Smaller
-- subtrees are computed from log_positions when a proof needs them.
-- Derived from log_positions: not dumped, the worker rebuilds it.
CREATE TABLE eventstore.merkle_blocks (
    level       smallint NOT NULL CHECK (level BETWEEN 8 AND 62),
    block_index bigint NOT NULL CHECK (block_index >= 0),
    hash        bytea NOT NULL CHECK (octet_length(hash) = 32),
    PRIMARY KEY (level, block_index)
);

-- Signed statements of the tree's root, written by the worker every
-- pg_eventstore.checkpoint_interval and published outside the database
-- (pg_eventstore.checkpoint_topic, pg_eventstore.checkpoint_file).  line is
-- the checkpoint exactly as published; the other columns are its fields.
-- Dumped: they are history, and a restore must keep them.
CREATE TABLE eventstore.checkpoints (
    checkpoint  bigint PRIMARY KEY CHECK (checkpoint >= 1),
    tree_size   bigint NOT NULL CHECK (tree_size >= 0),
    root_hash   bytea NOT NULL,
    ledger_head bytea NOT NULL,
    created_at  timestamptz NOT NULL,
    key_id      text,   -- hex SHA-256 of the signing key's raw public key; NULL: unsigned
    public_key  text,   -- the signing key's public half (PEM)
    signature   text,   -- hex Ed25519 signature (src/core/checkpoint.h has the signed bytes)
    line        text NOT NULL
);
SELECT pg_catalog.pg_extension_config_dump('eventstore.checkpoints', '');
CREATE TRIGGER checkpoints_append_only BEFORE UPDATE OR DELETE ON eventstore.checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION eventstore.log_guard();
CREATE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE ON eventstore.checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION eventstore.log_guard();

-- The root of the tree over positions 1..tree_size.
CREATE FUNCTION eventstore.merkle_root(tree_size bigint) RETURNS bytea
LANGUAGE c STABLE
AS 'MODULE_PATHNAME', 'eventstore_merkle_root';

-- The audit path of one event against the tree of tree_size positions (the
-- latest checkpoint's when NULL), as jsonb.
CREATE FUNCTION eventstore.inclusion_proof(global_position bigint, tree_size bigint DEFAULT NULL) RETURNS jsonb
LANGUAGE c STABLE
AS 'MODULE_PATHNAME', 'eventstore_inclusion_proof';

-- Proof that the tree of new_size positions extends the one of old_size.
CREATE FUNCTION eventstore.consistency_proof(old_size bigint, new_size bigint) RETURNS jsonb
LANGUAGE c STABLE
AS 'MODULE_PATHNAME', 'eventstore_consistency_proof';

-- The public key checkpoints are signed with (PEM), NULL when unsigned.
CREATE FUNCTION eventstore.checkpoint_public_key() RETURNS text
LANGUAGE c STABLE
AS 'MODULE_PATHNAME', 'eventstore_checkpoint_public_key';

-- The sequenced log in the offline verifier's input format
-- (pg_eventstore_verify --log): COPY (SELECT * FROM eventstore.export_log())
-- TO STDOUT.  event_time_us is what the event hash covers: microseconds
-- since 1970-01-01 UTC; data and metadata are the hashed jsonb text.
CREATE FUNCTION eventstore.export_log(after_position bigint DEFAULT 0)
RETURNS TABLE (global_position bigint, stream_id text, stream_version bigint, event_id uuid, event_type text,
               schema_version integer, event_time_us bigint, data text, metadata text, hash text,
               ledger_hash text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT p.global_position, e.stream_id, e.stream_version, e.event_id, e.event_type, e.schema_version,
           (extract(epoch FROM e.event_time) * 1000000)::bigint, e.data::text, e.metadata::text,
           encode(e.hash, 'hex'), encode(p.ledger_hash, 'hex')
    FROM eventstore.log_positions p
    JOIN eventstore.events e ON e.stream_id = p.stream_id AND e.stream_version = p.stream_version
    WHERE p.global_position > after_position
    ORDER BY p.global_position
$$;

-- How far the tree and the checkpoints are behind the sequenced log.
CREATE VIEW eventstore.checkpoint_status AS
    SELECT coalesce((SELECT max(lp.global_position) FROM eventstore.log_positions lp), 0) AS sequenced_position,
           coalesce((SELECT (max(b.block_index) + 1) * 256 FROM eventstore.merkle_blocks b WHERE b.level = 8), 0)
               AS stored_tree_positions,
           c.checkpoint AS last_checkpoint,
           coalesce(c.tree_size, 0) AS checkpointed_position,
           c.created_at AS last_checkpoint_at,
           c.key_id IS NOT NULL AS signed,
           greatest(coalesce((SELECT max(lp.global_position) FROM eventstore.log_positions lp), 0)
                    - coalesce(c.tree_size, 0), 0) AS events_since_checkpoint
    FROM (SELECT 1) one
    LEFT JOIN LATERAL (SELECT * FROM eventstore.checkpoints ORDER BY checkpoint DESC LIMIT 1) c ON true;

REVOKE ALL ON eventstore.merkle_blocks, eventstore.checkpoints FROM PUBLIC;
REVOKE ALL ON FUNCTION eventstore.merkle_root(bigint), eventstore.inclusion_proof(bigint, bigint),
    eventstore.consistency_proof(bigint, bigint), eventstore.checkpoint_public_key(),
    eventstore.export_log(bigint) FROM PUBLIC;
GRANT SELECT ON eventstore.merkle_blocks, eventstore.checkpoints, eventstore.checkpoint_status TO eventstore_reader;
GRANT EXECUTE ON FUNCTION eventstore.merkle_root(bigint), eventstore.inclusion_proof(bigint, bigint),
    eventstore.consistency_proof(bigint, bigint), eventstore.checkpoint_public_key(),
    eventstore.export_log(bigint) TO eventstore_reader;

-- ---------------------------------------------------------------------------
-- Metrics
-- ---------------------------------------------------------------------------
-- One row per measurement, for monitoring (docs/monitoring.md): lag in
-- events and seconds of the sequencer, the publisher, every projection and
-- the period books; open exceptions per category with a period policy.
CREATE VIEW eventstore.metrics AS
    SELECT 'eventstore_worker_up'::text AS metric, jsonb_build_object('job', w.job) AS labels,
           (w.pid IS NOT NULL)::int::double precision AS value
    FROM eventstore.worker_status w
    UNION ALL
    SELECT 'eventstore_worker_backing_off', jsonb_build_object('job', w.job),
           (w.state = 'backing off after error')::int
    FROM eventstore.worker_status w
    UNION ALL
    SELECT 'eventstore_sequenced_position', '{}'::jsonb, o.sequenced_position FROM eventstore.outbox_status o
    UNION ALL
    SELECT 'eventstore_published_position', '{}'::jsonb, o.published_position FROM eventstore.outbox_status o
    UNION ALL
    SELECT 'eventstore_publisher_lag_events', '{}'::jsonb, o.pending_events FROM eventstore.outbox_status o
    UNION ALL
    SELECT 'eventstore_publisher_lag_seconds', '{}'::jsonb,
           coalesce(extract(epoch FROM o.oldest_pending_age), 0) FROM eventstore.outbox_status o
    UNION ALL
    SELECT 'eventstore_projection_position', jsonb_build_object('projection', p.name), p."position"
    FROM eventstore.projection_status p
    UNION ALL
    SELECT 'eventstore_projection_lag_events', jsonb_build_object('projection', p.name), p.lag_events
    FROM eventstore.projection_status p
    UNION ALL
    SELECT 'eventstore_projection_lag_seconds', jsonb_build_object('projection', p.name), p.lag_seconds
    FROM eventstore.projection_status p
    UNION ALL
    SELECT 'eventstore_projection_events_per_second', jsonb_build_object('projection', p.name), p.events_per_second
    FROM eventstore.projection_status p
    UNION ALL
    SELECT 'eventstore_projection_failed', jsonb_build_object('projection', p.name), (p.state = 'failed')::int
    FROM eventstore.projection_status p
    UNION ALL
    SELECT 'eventstore_period_books_lag_events', '{}'::jsonb, b.lag_events FROM eventstore.period_books_status b
    UNION ALL
    SELECT 'eventstore_period_open_exceptions', jsonb_build_object('category', pp.category),
           (SELECT count(*) FROM eventstore.late_events l
            WHERE l.category = pp.category AND l.status = 'pending' AND l.policy_id = pp.policy_id)
    FROM eventstore.period_policies pp
    UNION ALL
    SELECT 'eventstore_checkpoint_lag_events', '{}'::jsonb, c.events_since_checkpoint
    FROM eventstore.checkpoint_status c
    UNION ALL
    SELECT 'eventstore_checkpoint_age_seconds', '{}'::jsonb,
           coalesce(extract(epoch FROM now() - c.last_checkpoint_at), 0)
    FROM eventstore.checkpoint_status c;

GRANT SELECT ON eventstore.period_books_status, eventstore.metrics TO eventstore_reader;
