#!/usr/bin/env bash
# worker_lifecycle.sh — worker crash, server crash, SIGHUP reload and standby
# promotion, each on its own throwaway cluster (see worker_lifecycle.py).
# Run one with: bash test/e2e/worker_lifecycle.sh kill-worker
set -uo pipefail
cd "$(dirname "$0")/../.."
scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(sighup round-fails stop-while-backing-off lock-held kill-worker immediate-stop failover)
status=0
for scenario in "${scenarios[@]}"; do
    echo "-- worker lifecycle: $scenario"
    if ! timeout 600 bash scripts/with_cluster.sh "e2e-$scenario" \
            bash -c "cd test/e2e && /usr/bin/python3 worker_lifecycle.py $scenario"; then
        echo "worker lifecycle scenario $scenario FAILED"
        status=1
    fi
done
exit $status
