-- hot_streams.sql — optimistic concurrency the way an application does it:
-- read the stream's version, decide, append with that expected version
-- (bench/pgbench/append_expected.sql does the read and calls this).
--
-- bench.append_expected returns true when the append went through and false
-- when another client appended in between (SQLSTATE ES001, caught here so
-- that pgbench does not abort the client).  The exception block makes the
-- append a subtransaction, as in any application that handles the conflict
-- inside the database; the conflict rate is counted afterwards from the
-- events stored, so no shared counter row adds contention of its own.
CREATE SCHEMA IF NOT EXISTS bench;
CREATE OR REPLACE FUNCTION bench.append_expected(p_stream_id text, p_data jsonb, p_expected bigint)
RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM eventstore.append(p_stream_id, 'Deposited', p_data, NULL, p_expected);
    RETURN true;
EXCEPTION WHEN SQLSTATE 'ES001' THEN
    RETURN false;
END
$$;
