#!/usr/bin/env bash
# projections.sh — read models exactly once through load, crashes and a
# rebuild, each scenario on its own throwaway cluster (see projections.py).
# Run one with: bash test/e2e/projections.sh rebuild
set -uo pipefail
cd "$(dirname "$0")/../.."
scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(steady kill-projector immediate-stop rebuild)
status=0
for scenario in "${scenarios[@]}"; do
    echo "-- projections: $scenario"
    if ! timeout 900 bash scripts/with_cluster.sh "projections-$scenario" \
            bash -c "cd test/e2e && /usr/bin/python3 projections.py $scenario"; then
        echo "projections scenario $scenario FAILED"
        status=1
    fi
done
exit $status
