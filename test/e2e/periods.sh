#!/usr/bin/env bash
# periods.sh — period closes and the period clock racing with appends,
# through a killed projector and a crash (see periods.py).
set -uo pipefail
cd "$(dirname "$0")/../.."
status=0
for scenario in race kill-projector immediate-stop; do
    echo "-- periods: $scenario"
    timeout 600 bash scripts/with_cluster.sh periods bash -c "cd test/e2e && /usr/bin/python3 periods.py $scenario" \
        || { echo "periods $scenario FAILED"; status=1; }
done
exit $status
