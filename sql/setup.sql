-- Installing the extension creates its schema, roles and objects.
CREATE EXTENSION pg_eventstore;
SELECT extname, extversion FROM pg_extension WHERE extname = 'pg_eventstore';
SELECT rolname FROM pg_roles WHERE rolname LIKE 'eventstore\_%' ORDER BY rolname;
SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'eventstore' ORDER BY 1;
-- The config tables are registered for pg_dump.
SELECT c.relname FROM pg_extension e, unnest(e.extconfig) AS t(oid) JOIN pg_class c ON c.oid = t.oid
WHERE e.extname = 'pg_eventstore' ORDER BY 1;

-- Test helper: runs a statement expected to fail and shows "SQLSTATE: message".
CREATE FUNCTION test_error(statement text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE statement;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;
