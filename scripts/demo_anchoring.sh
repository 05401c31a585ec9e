#!/usr/bin/env bash
# demo_anchoring.sh — the last part of `make demo` (called by demo.sh inside
# the demo cluster): signed checkpoints kept outside the database catch a
# superuser who rewrites history and recomputes every hash, which
# verify_all alone cannot (docs/tamper-evidence.md).
#
# Env: PGHOST, PGPORT, PGDATABASE (the demo cluster), BOOTSTRAP (the broker),
# AUDITOR_DIR (where the auditor keeps their copies), the public key of the
# worker's signing key is read from the database.
set -euo pipefail
cd "$(dirname "$0")/.."
psql() { command psql -X -q -v ON_ERROR_STOP=1 -U postgres "$@"; }
verifier=tools/pg_eventstore_verify

echo
echo "== 15. Anchoring: the worker signs checkpoints of the log's Merkle root; an auditor keeps them from Kafka"
psql -c "DO \$\$ BEGIN
             FOR i IN 1..300 LOOP
                 EXIT WHEN (SELECT events_since_checkpoint = 0 AND signed FROM eventstore.checkpoint_status);
                 PERFORM pg_sleep(0.1);
             END LOOP;
         END \$\$;" \
     -c "SELECT last_checkpoint, checkpointed_position, signed, events_since_checkpoint FROM eventstore.checkpoint_status"
psql -At -c "SELECT eventstore.checkpoint_public_key()" >"$AUDITOR_DIR/checkpoint.pub"
echo "-- the auditor's copy, read from topic bank.checkpoints with kcat (one signed checkpoint per line):"
kcat -C -b "$BOOTSTRAP" -t bank.checkpoints -o beginning -e -q -f '%s\n' >"$AUDITOR_DIR/checkpoints.jsonl"
echo "$(grep -c . "$AUDITOR_DIR/checkpoints.jsonl") checkpoints kept; checkpoint 1:"
grep '"checkpoint": 1,' "$AUDITOR_DIR/checkpoints.jsonl" | head -1

run_verifier() {
    psql -c "COPY (SELECT * FROM eventstore.export_log()) TO STDOUT" >"$AUDITOR_DIR/log.tsv"
    "$verifier" --public-key "$AUDITOR_DIR/checkpoint.pub" --checkpoints "$AUDITOR_DIR/checkpoints.jsonl" \
        --log "$AUDITOR_DIR/log.tsv" || true
}

echo "-- the offline verifier on today's log (step 13 changed Bob's deposit without recomputing anything):"
run_verifier
echo
echo "-- now a superuser rewrites that deposit and recomputes Bob's hash chain and the whole ledger:"
psql <<'SQL'
SET session_replication_role = replica;
DO $$
DECLARE
    r record;
    previous bytea := (SELECT hash FROM eventstore.events WHERE stream_id = 'account-bob' AND stream_version = 1);
    first_position bigint := (SELECT global_position FROM eventstore.log_positions
                              WHERE stream_id = 'account-bob' AND stream_version = 2);
BEGIN
    FOR r IN SELECT * FROM eventstore.events WHERE stream_id = 'account-bob' AND stream_version >= 2
             ORDER BY stream_version LOOP
        previous := eventstore.event_hash(r.stream_id, r.stream_version, r.event_id, r.event_type, r.schema_version,
                                          r.event_time, r.data, r.metadata, previous);
        UPDATE eventstore.events SET hash = previous WHERE stream_id = r.stream_id AND stream_version = r.stream_version;
    END LOOP;
    UPDATE eventstore.streams SET head_hash = previous WHERE stream_id = 'account-bob';
    previous := (SELECT ledger_hash FROM eventstore.log_positions WHERE global_position = first_position - 1);
    FOR r IN SELECT p.global_position, e.hash FROM eventstore.log_positions p
             JOIN eventstore.events e USING (stream_id, stream_version)
             WHERE p.global_position >= first_position ORDER BY p.global_position LOOP
        previous := eventstore.ledger_hash(previous, r.hash, r.global_position);
        UPDATE eventstore.log_positions SET ledger_hash = previous WHERE global_position = r.global_position;
    END LOOP;
END $$;
RESET session_replication_role;
\echo 'verify_all: every event hash and the ledger agree again; only the ledger hash that last month''s close'
\echo 'recorded disagrees -- a record the same superuser could rewrite as well:'
SELECT ok, left(detail, 100) AS detail FROM eventstore.verify_all() WHERE stream_id IS NULL OR NOT ok;
SQL
echo "-- the offline verifier, against the checkpoints the auditor kept, catches the rewrite:"
run_verifier
