#!/usr/bin/env bash
# dump_restore.sh — end-to-end check that pg_dump/pg_restore carry the event
# log intact.
#
# On a throwaway cluster (scripts/with_cluster.sh e2e-dump): appends events to
# several streams, dumps the database with `pg_dump -Fc`, restores it into a
# new database with `pg_restore`, and checks that
#   - pg_dump and pg_restore report no error;
#   - events, streams and log_positions are identical row for row (every
#     column, including stream_id, stream_version, event_id, hash and data;
#     only events.xid, a cluster-local transaction id, may differ);
#   - eventstore.verify_all() is ok in the restored database;
#   - eventstore.insert_seq continues: an append to an existing stream in the
#     restored database yields the next version, a larger insert_seq, and the
#     stream still verifies;
#   - the append-only triggers exist and fire (UPDATE/DELETE/TRUNCATE fail),
#     and the role privileges came along.
#
# Run from anywhere, as root or the postgres user: bash test/e2e/dump_restore.sh
# Exits non-zero, printing what differed, on any failure.
set -uo pipefail

script="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
cd "$(dirname "$script")/../.."

if [ "${1:-}" != --inside-cluster ]; then
    timeout 120 bash scripts/with_cluster.sh e2e-dump bash "$script" --inside-cluster
    status=$?
    [ $status -eq 0 ] || echo "dump_restore.sh: FAILED (exit status $status)"
    exit $status
fi

# ---------------------------------------------------------------------------
# Inside the cluster: PGHOST, PGPORT, PGDATABASE, PGUSER, CLUSTER_DIR are set.
# ---------------------------------------------------------------------------
source="$PGDATABASE"
restored="${PGDATABASE}_restored"
work="$CLUSTER_DIR/dump"
mkdir -p "$work"
failures=0

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }
# sql DATABASE QUERY — one query, unaligned tuples-only output, stops on error.
sql() { psql -X -q -A -t -v ON_ERROR_STOP=1 -U postgres -d "$1" -c "$2"; }
# sql_error DATABASE QUERY — runs a statement that must fail; prints the error.
sql_error() { psql -X -q -A -t -v ON_ERROR_STOP=1 -U postgres -d "$1" -c "$2" 2>&1 >/dev/null; }

echo "== append events to $source"
sql "$source" "
    SELECT eventstore.append('account-1', 'Opened', '{\"owner\": \"Zoë\", \"limits\": {\"daily\": 500}}',
                             '{\"correlation_id\": \"c-1\"}', 0, NULL, '1969-07-20 20:17:40.000001+00');
    SELECT eventstore.append('account-1', 'Deposited', '{\"amount\": 100.50}');
    SELECT eventstore.append('account-2', 'Opened', '{\"owner\": \"Ünal\"}', NULL, 0);
    SELECT eventstore.append('заказ-1', 'Placed', '{\"items\": [\"☕\", \"🥐\"]}', '{\"trace\": \"t\"}');
    SELECT eventstore.append_batch('order-7',
        array_agg(ROW(NULL, 'Line', jsonb_build_object('line', g, 'qty', g * 2),
                      CASE WHEN g % 2 = 0 THEN jsonb_build_object('n', g) END,
                      timestamptz '2026-01-15 09:30:00.123456+00' + g * interval '1.000001 second',
                      1 + g % 2)::eventstore.new_event ORDER BY g), 0)
    FROM generate_series(1, 50) g;
    SELECT eventstore.append('account-1', 'Withdrawn', '{\"amount\": 20}', NULL, 2);
    SELECT eventstore.set_period_policy('account', 'month', amount_path => '{amount}');
    SELECT eventstore.append('account-2', 'Deposited', '{\"amount\": 5}', event_time => '2020-01-15');
" >/dev/null || { echo "FAIL: appending to $source failed"; exit 1; }
events=$(sql "$source" "SELECT count(*) FROM eventstore.events")
echo "$events events in $(sql "$source" "SELECT count(*) FROM eventstore.streams") streams"

# If the background worker sequences this database, let it finish so that
# log_positions is stable while we dump and compare.
positions=0
for _ in $(seq 1 30); do
    positions=$(sql "$source" "SELECT count(*) FROM eventstore.log_positions")
    [ "$positions" = "$events" ] && break
    sleep 0.5
done
if [ "$positions" = "$events" ]; then
    echo "log_positions: all $positions events sequenced"
elif [ "$positions" = 0 ]; then
    echo "note: log_positions is empty after 15 s (no sequencer running); compared as empty"
else
    fail "log_positions has $positions of $events events after 15 s; the comparison may be unstable"
fi

echo "== pg_dump -Fc $source"
if ! pg_dump -Fc -U postgres -d "$source" -f "$work/source.dump" 2>"$work/pg_dump.err"; then
    cat "$work/pg_dump.err"; echo "FAIL: pg_dump failed"; exit 1
fi
if [ -s "$work/pg_dump.err" ]; then
    fail "pg_dump printed messages:"; cat "$work/pg_dump.err"
fi

echo "== pg_restore into $restored"
sql postgres "CREATE DATABASE \"$restored\"" >/dev/null || { echo "FAIL: CREATE DATABASE failed"; exit 1; }
pg_restore -U postgres -d "$restored" "$work/source.dump" 2>"$work/pg_restore.err"
restore_status=$?
if [ $restore_status -ne 0 ] || grep -qi 'error' "$work/pg_restore.err"; then
    fail "pg_restore exited with $restore_status and printed:"; cat "$work/pg_restore.err"
    echo "(pg_restore --list of the dump:)"; pg_restore --list "$work/source.dump" | grep -v '^;' | head -60
elif [ -s "$work/pg_restore.err" ]; then
    echo "pg_restore printed (no errors):"; cat "$work/pg_restore.err"
else
    pass "pg_restore reported no errors"
fi

echo "== compare $source and $restored"
compare() {  # compare LABEL QUERY — the query's output must be identical in both databases
    sql "$source" "$2" >"$work/$1.source" 2>&1
    sql "$restored" "$2" >"$work/$1.restored" 2>&1
    if diff -q "$work/$1.source" "$work/$1.restored" >/dev/null; then
        pass "$1 identical ($(wc -l <"$work/$1.source") rows)"
    else
        fail "$1 differs between $source (<) and $restored (>):"
        diff "$work/$1.source" "$work/$1.restored" | head -40
    fi
}
compare event_count "SELECT count(*) FROM eventstore.events"
compare event_keys "SELECT stream_id, stream_version, event_id, encode(hash, 'hex'), data
                    FROM eventstore.events ORDER BY stream_id, stream_version"
# Every column but xid: that is the appending transaction's id in the source
# cluster, meaningless after a restore, which re-stamps it (trigger
# events_stamp_restored) so the sequencer can order unsequenced events.
compare events_all_columns "SELECT stream_id, stream_version, event_id, event_type, schema_version, data,
                                   metadata, event_time, ingest_time, encode(hash, 'hex'), insert_seq
                            FROM eventstore.events ORDER BY stream_id, stream_version"
compare streams "SELECT stream_id, category, version, encode(head_hash, 'hex'), created_at, updated_at
                 FROM eventstore.streams ORDER BY stream_id"
compare log_positions "SELECT global_position, stream_id, stream_version, category,
                              encode(ledger_hash, 'hex'), sequenced_at
                       FROM eventstore.log_positions ORDER BY global_position"
compare insert_seq "SELECT last_value, is_called FROM eventstore.insert_seq"
compare extension_version "SELECT extversion FROM pg_extension WHERE extname = 'pg_eventstore'"
compare period_policies "SELECT * FROM eventstore.period_policies ORDER BY category"
compare late_events "SELECT * FROM eventstore.late_events ORDER BY id"
[ "$(sql "$restored" "SELECT count(*) FROM eventstore.events")" = "$events" ] ||
    fail "restored database does not hold the $events events"

echo "== verify_all() in $restored"
verify=$(sql "$restored" "SELECT ok, detail FROM eventstore.verify_all()" 2>&1)
if [ "$(printf '%s\n' "$verify" | wc -l)" = 1 ] && [[ "$verify" == "t|"* ]]; then
    pass "verify_all: ${verify#t|}"
else
    fail "verify_all in the restored database: $verify"
fi

echo "== appending in $restored continues the streams and insert_seq"
max_seq=$(sql "$restored" "SELECT max(insert_seq) FROM eventstore.events")
version=$(sql "$restored" "SELECT eventstore.append('account-1', 'Closed', '{\"reason\": \"restored\"}', NULL, 3)" 2>&1)
if [ "$version" = 4 ]; then
    pass "append to account-1 (expected version 3) returned version 4"
else
    fail "append to account-1 in the restored database returned: $version (expected 4)"
fi
new_seq=$(sql "$restored" "SELECT insert_seq FROM eventstore.events WHERE stream_id = 'account-1' AND stream_version = 4")
if [ -n "$new_seq" ] && [ "$new_seq" -gt "$max_seq" ]; then
    pass "the new event's insert_seq $new_seq follows the restored maximum $max_seq"
else
    fail "the new event's insert_seq is '$new_seq', not above the restored maximum $max_seq"
fi
version=$(sql "$restored" "SELECT eventstore.append_batch('order-7',
              ARRAY[ROW(NULL, 'Line', '{\"line\": 51}', NULL, NULL, NULL)::eventstore.new_event], 50)" 2>&1)
[ "$version" = 51 ] && pass "append_batch to order-7 returned version 51" ||
    fail "append_batch to order-7 in the restored database returned: $version (expected 51)"
version=$(sql "$restored" "SELECT eventstore.append('fresh-1', 'New', '{}', NULL, 0)" 2>&1)
[ "$version" = 1 ] && pass "append to a new stream returned version 1" ||
    fail "append to a new stream in the restored database returned: $version"
for stream in account-1 order-7 fresh-1; do
    result=$(sql "$restored" "SELECT ok, first_bad_version, detail FROM eventstore.verify_stream('$stream')" 2>&1)
    [[ "$result" == "t||"* ]] && pass "verify_stream('$stream') ok after the append" ||
        fail "verify_stream('$stream') in the restored database: $result"
done
verify=$(sql "$restored" "SELECT ok FROM eventstore.verify_all()" 2>&1)
[ "$verify" = t ] && pass "verify_all ok after the appends" || fail "verify_all after the appends: $verify"
# The source database did not change.
[ "$(sql "$source" "SELECT eventstore.stream_version('account-1')")" = 3 ] ||
    fail "the source database's account-1 changed"

echo "== periods go on in $restored: new late events and policies take fresh ids"
late=$(sql "$restored" "SELECT eventstore.append('account-2', 'Deposited', '{\"amount\": 7}', event_time => '2020-02-01');
                        SELECT count(*) FROM eventstore.late_events" 2>&1 | tail -1)
[ "$late" = 2 ] && pass "a late event in the restored database is recorded beside the restored one" ||
    fail "late events in the restored database after one more: $late (expected 2)"
policy=$(sql "$restored" "SELECT eventstore.set_period_policy('order', 'month');
                          SELECT count(DISTINCT policy_id) FROM eventstore.period_policies" 2>&1 | tail -1)
[ "$policy" = 2 ] && pass "a new policy in the restored database gets its own id" ||
    fail "policies in the restored database: $policy"

echo "== the append-only guard came along"
triggers=$(sql "$restored" "SELECT count(*) FROM pg_trigger
    WHERE tgfoid = 'eventstore.log_guard()'::regprocedure AND tgenabled = 'O'
      AND tgrelid IN ('eventstore.events'::regclass, 'eventstore.streams'::regclass,
                      'eventstore.log_positions'::regclass)" 2>&1)
[ "$triggers" = 6 ] && pass "6 enabled log_guard triggers on the log tables" ||
    fail "log_guard triggers in the restored database: $triggers (expected 6)"
for statement in "UPDATE eventstore.events SET data = '{}' WHERE stream_id = 'account-1'" \
                 "DELETE FROM eventstore.events WHERE stream_id = 'account-1'" \
                 "TRUNCATE eventstore.events" \
                 "UPDATE eventstore.streams SET version = 99" \
                 "DELETE FROM eventstore.log_positions"; do
    error=$(sql_error "$restored" "$statement")
    if [[ "$error" == *"the event log is append-only"* ]]; then
        pass "refused: $statement"
    else
        fail "not refused as append-only in the restored database: $statement -> ${error:-no error}"
    fi
done

echo "== privileges came along"
privileges=$(sql "$restored" "SELECT
    has_function_privilege('eventstore_writer', 'eventstore.append(text, text, jsonb, jsonb, bigint, uuid, timestamptz)', 'EXECUTE'),
    has_function_privilege('eventstore_reader', 'eventstore.append(text, text, jsonb, jsonb, bigint, uuid, timestamptz)', 'EXECUTE'),
    has_function_privilege('eventstore_admin', 'eventstore.verify_all()', 'EXECUTE'),
    has_function_privilege('eventstore_writer', 'eventstore.verify_all()', 'EXECUTE'),
    has_table_privilege('eventstore_reader', 'eventstore.events', 'SELECT'),
    has_table_privilege('eventstore_writer', 'eventstore.events', 'INSERT'),
    (SELECT count(*) FROM pg_proc p, aclexplode(p.proacl) a
      WHERE p.pronamespace = 'eventstore'::regnamespace AND a.grantee = 0)" 2>&1)
[ "$privileges" = "t|f|t|f|t|f|0" ] && pass "role privileges as in the source" ||
    fail "privileges in the restored database: $privileges (expected t|f|t|f|t|f|0)"

echo
if [ $failures -ne 0 ]; then
    echo "dump/restore: $failures check(s) FAILED"
    exit 1
fi
echo "dump/restore: all checks passed ($events events round-tripped)"
