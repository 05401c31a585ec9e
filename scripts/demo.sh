#!/usr/bin/env bash
# demo.sh — `make demo`: installs what is missing, builds and installs the
# extension, starts a throwaway cluster with the worker preloaded, runs the
# banking scenario (scripts/demo_banking.sql) and stops the cluster.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$PROJECT_ROOT"

bash scripts/setup.sh
say "build and install pg_eventstore"
make -s -j2 >/dev/null && make -s install >/dev/null
say "start a throwaway cluster (shared_preload_libraries = pg_eventstore)"
bash scripts/with_cluster.sh demo bash -c '
    echo "cluster: $CLUSTER_DIR, port $PGPORT, database $PGDATABASE"
    psql -X -q -h "$PGHOST" -p "$PGPORT" -U postgres -d "$PGDATABASE" -f scripts/demo_banking.sql 2>&1
'
say "demo finished; the cluster is stopped"
