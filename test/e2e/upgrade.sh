#!/usr/bin/env bash
# upgrade.sh — ALTER EXTENSION pg_eventstore UPDATE on a database with data,
# and a fresh install compared with an updated one (see upgrade.py).
set -uo pipefail
cd "$(dirname "$0")/../.."
echo "-- extension upgrade"
timeout 300 bash scripts/with_cluster.sh upgrade bash -c "cd test/e2e && /usr/bin/python3 upgrade.py" \
    || { echo "extension upgrade FAILED"; exit 1; }
