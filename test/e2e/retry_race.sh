#!/usr/bin/env bash
# retry_race.sh — twelve identical appends at once all succeed and store one
# event (see retry_race.py).
set -uo pipefail
cd "$(dirname "$0")/../.."
echo "-- retry race"
timeout 300 bash scripts/with_cluster.sh retry-race bash -c "cd test/e2e && /usr/bin/python3 retry_race.py" \
    || { echo "retry race FAILED"; exit 1; }
