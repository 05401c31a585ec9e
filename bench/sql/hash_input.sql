-- hash_input.sql — the exact bytes eventstore.verify_all() feeds to SHA-256,
-- rebuilt in SQL from docs/hash-chain.md and docs/global-order.md, so the
-- verify_all scenario can hash the same bytes with `openssl dgst -sha256`.
--
--   bench.chain_input(event)  canonical encoding v1 || previous hash in the
--                             stream (32 zero bytes for version 1): one
--                             stream-chain step
--   bench.ledger_input(...)   previous ledger hash || event hash || position
--                             as 8 bytes big-endian: one ledger step
--
-- The scenario checks sha256(chain_input) against the stored hash before it
-- trusts the export.
CREATE SCHEMA IF NOT EXISTS bench;

-- One canonical field: 4-byte big-endian length, then the bytes.
CREATE OR REPLACE FUNCTION bench.field(value bytea) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT int4send(length(value)) || value $$;

CREATE OR REPLACE FUNCTION bench.chain_input(e eventstore.events, previous_hash bytea) RETURNS bytea
LANGUAGE sql IMMUTABLE AS $$
    SELECT bench.field(convert_to('pg_eventstore.event.v1', 'UTF8'))
        || bench.field(convert_to(e.stream_id, 'UTF8'))
        || bench.field(int8send(e.stream_version))
        || bench.field(uuid_send(e.event_id))
        || bench.field(convert_to(e.event_type, 'UTF8'))
        || bench.field(int8send(e.schema_version::bigint))
        || bench.field(int8send((extract(epoch FROM e.event_time) * 1000000)::bigint))
        || bench.field(convert_to(e.data::text, 'UTF8'))
        -- NULL metadata is the length FF FF FF FF and no bytes.
        || coalesce(bench.field(convert_to(e.metadata::text, 'UTF8')), '\xffffffff'::bytea)
        || coalesce(previous_hash, decode(repeat('00', 32), 'hex'))
$$;

CREATE OR REPLACE FUNCTION bench.ledger_input(previous_ledger bytea, event_hash bytea, global_position bigint)
RETURNS bytea
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(previous_ledger, decode(repeat('00', 32), 'hex')) || event_hash || int8send(global_position)
$$;

-- Every input, streams first then the ledger, as one row each.
CREATE OR REPLACE VIEW bench.hash_inputs AS
    SELECT bench.chain_input(e, lag(e.hash) OVER (PARTITION BY e.stream_id ORDER BY e.stream_version)) AS input,
           e.hash AS expected
    FROM eventstore.events e
    UNION ALL
    SELECT bench.ledger_input(lag(p.ledger_hash) OVER (ORDER BY p.global_position), e.hash, p.global_position),
           p.ledger_hash
    FROM eventstore.log_positions p
    JOIN eventstore.events e USING (stream_id, stream_version);
