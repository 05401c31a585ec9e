#!/usr/bin/env bash
# aggregates.sh — load_state against an independent fold in Python, with
# snapshots, a changed fold and a killed snapshotter (see aggregates.py).
set -uo pipefail
cd "$(dirname "$0")/../.."
echo "-- aggregates"
timeout 600 bash scripts/with_cluster.sh aggregates bash -c "cd test/e2e && /usr/bin/python3 aggregates.py" \
    || { echo "aggregates FAILED"; exit 1; }
