#!/usr/bin/env bash
# prometheus_exporter.sh — Debian's prometheus-postgres-exporter scrapes
# pg_eventstore's measurements with scripts/prometheus-queries.yaml: a real
# exporter against a throwaway cluster, read with curl.  Projection lag must
# appear, grow while the projection is paused, and return to 0 on resume.
set -uo pipefail
cd "$(dirname "$0")/../.."
source scripts/common.sh
echo "-- prometheus exporter"
command -v prometheus-postgres-exporter >/dev/null || { echo "prometheus exporter FAILED: not installed"; exit 1; }

run() {
    local dir port=$((26900 + RANDOM % 90)) exporter_pid status=0
    psql_q() { as_postgres psql -h "$PGHOST" -p "$PGPORT" -d "$PGDATABASE" -qAtX -v ON_ERROR_STOP=1 -c "$1"; }
    metric() {  # metric NAME LABELS -> its value in a fresh scrape
        curl -s --max-time 10 "http://127.0.0.1:$port/metrics" | grep -E "^$1\{.*$2" | awk '{print $2}' | head -1
    }
    psql_q "CREATE ROLE exporter_scraper LOGIN IN ROLE eventstore_reader;
            CREATE SCHEMA demo; CREATE TABLE demo.counts (event_type text PRIMARY KEY, n bigint NOT NULL);
            SELECT eventstore.create_projection('demo', sql => \$\$INSERT INTO counts AS c
                SELECT event_type, count(*) FROM batch GROUP BY 1
                ON CONFLICT (event_type) DO UPDATE SET n = c.n + excluded.n\$\$);" >/dev/null || return 1
    DATA_SOURCE_NAME="host=$PGHOST port=$PGPORT user=exporter_scraper dbname=$PGDATABASE sslmode=disable" \
        prometheus-postgres-exporter --web.listen-address="127.0.0.1:$port" \
        --extend.query-path="$PROJECT_ROOT/scripts/prometheus-queries.yaml" \
        --disable-default-metrics --disable-settings-metrics >"$CLUSTER_DIR/exporter.log" 2>&1 &
    exporter_pid=$!
    for _ in $(seq 1 50); do curl -s --max-time 2 "http://127.0.0.1:$port/metrics" >/dev/null && break; sleep 0.2; done

    psql_q "SELECT count(eventstore.append('demo-' || i, 'Happened', '{}')) FROM generate_series(1, 20) i;" >/dev/null
    psql_q "SELECT eventstore.wait_for_projection('demo', 20, '30 seconds')" >/dev/null
    local up lag_before lag_paused lag_after
    up=$(metric eventstore_worker_up 'job="sequencer"')
    lag_before=$(metric eventstore_projection_lag_events 'projection="demo"')
    psql_q "SELECT eventstore.pause_projection('demo');
            SELECT count(eventstore.append('demo-' || i, 'Happened', '{}')) FROM generate_series(1, 50) i;" >/dev/null
    psql_q "SELECT eventstore.wait_for_position(70, '30 seconds')" >/dev/null
    lag_paused=$(metric eventstore_projection_lag_events 'projection="demo"')
    psql_q "SELECT eventstore.resume_projection('demo')" >/dev/null
    psql_q "SELECT eventstore.wait_for_projection('demo', 70, '30 seconds')" >/dev/null
    lag_after=$(metric eventstore_projection_lag_events 'projection="demo"')
    psql_q "SELECT eventstore.set_period_policy('demo', 'month');
            SELECT eventstore.append('demo-late', 'Happened', '{}', event_time => '2020-01-01')" >/dev/null
    local exceptions
    exceptions=$(metric eventstore_periods_open_exceptions 'category="demo"')
    kill "$exporter_pid" 2>/dev/null; wait "$exporter_pid" 2>/dev/null

    echo "scraped: eventstore_worker_up{job=sequencer} $up; projection lag before $lag_before, paused $lag_paused, resumed $lag_after"
    [ "$up" = "1" ] || { echo "PROBLEM: the sequencer is not shown up"; status=1; }
    [ "$lag_before" = "0" ] || { echo "PROBLEM: lag before the pause should be 0"; status=1; }
    [ "$lag_paused" = "50" ] || { echo "PROBLEM: lag while paused should be 50"; status=1; }
    [ "$lag_after" = "0" ] || { echo "PROBLEM: lag after resuming should be 0"; status=1; }
    echo "scraped: eventstore_periods_open_exceptions{category=demo} $exceptions after one late event"
    [ "$exceptions" = "1" ] || { echo "PROBLEM: one late event for a closed period should be one open exception"; status=1; }
    [ $status -eq 0 ] || tail -20 "$CLUSTER_DIR/exporter.log"
    return $status
}
timeout 300 bash scripts/with_cluster.sh exporter bash -c "source scripts/common.sh; $(declare -f run); run" \
    || { echo "prometheus exporter FAILED"; exit 1; }
echo "prometheus exporter: the real exporter scraped projection lag moving with pause and resume"
