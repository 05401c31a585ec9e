-- Tamper evidence: the Merkle tree over the log, its proofs, export_log
-- (docs/tamper-evidence.md).  Everything is checked against an independent
-- PL/pgSQL implementation of RFC 9162 over the ledger hashes.
SELECT eventstore.wait_for_position((SELECT count(*) FROM eventstore.events), '30 seconds') AS sequenced;

CREATE FUNCTION te_leaf(pos bigint) RETURNS bytea LANGUAGE sql AS $$
    SELECT sha256('\x00'::bytea || ledger_hash) FROM eventstore.log_positions WHERE global_position = pos
$$;
-- MTH(D[first:first+n]) of RFC 9162, positions first+1 .. first+n.
CREATE FUNCTION te_mth(first bigint, n bigint) RETURNS bytea LANGUAGE plpgsql AS $$
DECLARE k bigint := 1;
BEGIN
    IF n = 0 THEN RETURN sha256(''::bytea); END IF;
    IF n = 1 THEN RETURN te_leaf(first + 1); END IF;
    WHILE k * 2 < n LOOP k := k * 2; END LOOP;
    RETURN sha256('\x01'::bytea || te_mth(first, k) || te_mth(first + k, n - k));
END $$;
-- RFC 9162 section 2.1.3.2.
CREATE FUNCTION te_verify_inclusion(proof jsonb) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    fn bigint := (proof->>'global_position')::bigint - 1;
    sn bigint := (proof->>'tree_size')::bigint - 1;
    r bytea := decode(proof->>'leaf_hash', 'hex');
    p bytea;
BEGIN
    FOR p IN SELECT decode(h, 'hex') FROM jsonb_array_elements_text(proof->'path') h LOOP
        IF sn = 0 THEN RETURN false; END IF;
        IF fn % 2 = 1 OR fn = sn THEN
            r := sha256('\x01'::bytea || p || r);
            WHILE fn % 2 = 0 AND fn <> 0 LOOP fn := fn / 2; sn := sn / 2; END LOOP;
        ELSE
            r := sha256('\x01'::bytea || r || p);
        END IF;
        fn := fn / 2; sn := sn / 2;
    END LOOP;
    RETURN sn = 0 AND encode(r, 'hex') = proof->>'root_hash';
END $$;

-- merkle_root agrees with the straight computation at every kind of size.
SELECT count(*) > 300 AS over_300_positions FROM eventstore.log_positions;
SELECT n, eventstore.merkle_root(n) = te_mth(0, n) AS same_root
FROM unnest(ARRAY[0, 1, 2, 3, 7, 8, 255, 256, 257, 300]) n;
SELECT eventstore.merkle_root(0) = sha256(''::bytea) AS empty_tree;

-- Inclusion proofs: the leaf is the position's ledger hash, the path
-- verifies against the root, and a changed path does not.
SELECT g, t, te_verify_inclusion(eventstore.inclusion_proof(g, t)) AS verifies,
       eventstore.inclusion_proof(g, t)->>'root_hash' = encode(te_mth(0, t), 'hex') AS root_is_the_tree
FROM (VALUES (1, 1), (1, 300), (150, 300), (256, 257), (300, 300)) v(g, t);
SELECT te_verify_inclusion(jsonb_set(eventstore.inclusion_proof(150, 300), '{path,0}',
                                     to_jsonb(encode(sha256('x'), 'hex')))) AS tampered_verifies;
SELECT (eventstore.inclusion_proof(42, 300)->>'ledger_hash')
       = (SELECT encode(ledger_hash, 'hex') FROM eventstore.log_positions WHERE global_position = 42) AS leaf_input;

-- Consistency proofs carry both roots.
SELECT (p->>'old_root') = encode(te_mth(0, 100), 'hex') AS old_root,
       (p->>'new_root') = encode(te_mth(0, 300), 'hex') AS new_root,
       jsonb_array_length(p->'path') > 0 AS has_path
FROM eventstore.consistency_proof(100, 300) p;
SELECT jsonb_array_length(eventstore.consistency_proof(300, 300)->'path') AS same_size_path;

-- Bad input: 22023; no checkpoint yet when tree_size is left out: 55000.
-- (The last sequenced position in the message is masked: earlier tests decide it.)
SELECT regexp_replace(test_error($$SELECT eventstore.merkle_root(-1)$$), '\(\d+\)', '(N)') AS error;
SELECT regexp_replace(test_error($$SELECT eventstore.merkle_root((SELECT max(global_position) + 1
                                                                  FROM eventstore.log_positions))$$),
                      'position \(\d+\), got \d+', 'position (N), got N + 1') AS error;
SELECT test_error($$SELECT eventstore.inclusion_proof(0, 10)$$);
SELECT test_error($$SELECT eventstore.inclusion_proof(11, 10)$$);
SELECT test_error($$SELECT eventstore.inclusion_proof(NULL)$$);
SELECT test_error($$SELECT eventstore.consistency_proof(0, 10)$$);
SELECT test_error($$SELECT eventstore.consistency_proof(11, 10)$$);

-- The worker's checkpoints (the first is written as soon as the log has
-- events): root and ledger head are the log's at their tree size, and
-- inclusion_proof without a tree size uses the latest.  Unsigned here: no
-- signing key is configured, so key, signature and public key are NULL.
DO $$
BEGIN
    FOR i IN 1..300 LOOP
        EXIT WHEN EXISTS (SELECT FROM eventstore.checkpoints);
        PERFORM pg_sleep(0.1);
    END LOOP;
END $$;
SELECT bool_and(c.root_hash = te_mth(0, c.tree_size)) AS roots_match,
       bool_and(c.ledger_head = (SELECT p.ledger_hash FROM eventstore.log_positions p
                                 WHERE p.global_position = c.tree_size)) AS ledger_heads_match,
       bool_and(c.key_id IS NULL AND c.signature IS NULL) AS unsigned,
       bool_and((c.line::jsonb->>'tree_size')::bigint = c.tree_size
                AND c.line::jsonb->>'root_hash' = encode(c.root_hash, 'hex')) AS line_matches
FROM eventstore.checkpoints c;
SELECT (eventstore.inclusion_proof(1)->>'tree_size')::bigint
       = (SELECT tree_size FROM eventstore.checkpoints ORDER BY checkpoint DESC LIMIT 1) AS latest_checkpoint;
SELECT eventstore.checkpoint_public_key() IS NULL AS no_public_key;

-- export_log: the verifier's input; its fields recompute the stored hashes.
SELECT count(*) = (SELECT count(*) FROM eventstore.log_positions) AS every_position,
       bool_and(x.hash = encode(eventstore.event_hash(x.stream_id, x.stream_version, x.event_id, x.event_type,
                    x.schema_version, to_timestamp(x.event_time_us / 1000000.0), x.data::jsonb, x.metadata::jsonb,
                    coalesce((SELECT e.hash FROM eventstore.events e
                              WHERE e.stream_id = x.stream_id AND e.stream_version = x.stream_version - 1),
                             '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea)),
                    'hex')) AS hashes_recompute
FROM eventstore.export_log() x;

-- Checkpoints are append-only like the log.
SELECT test_error($$DELETE FROM eventstore.checkpoints$$);
SELECT test_error($$TRUNCATE eventstore.checkpoints$$);

DROP FUNCTION te_verify_inclusion(jsonb), te_mth(bigint, bigint), te_leaf(bigint);

-- The checkpoint topic is the worker's: no publish() and no route may use it.
ALTER SYSTEM SET pg_eventstore.checkpoint_topic = 'audit.checkpoints';
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
SELECT current_setting('pg_eventstore.checkpoint_topic') AS checkpoint_topic;
SELECT test_error($$SELECT eventstore.publish('audit.checkpoints', 'k', '{"checkpoint": 99}')$$);
SELECT test_error($$SELECT eventstore.add_route('ledger', 'audit.checkpoints')$$);
ALTER SYSTEM RESET pg_eventstore.checkpoint_topic;
SELECT pg_reload_conf();
