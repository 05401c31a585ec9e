#!/usr/bin/env bash
# worker_hijack.sh — the worker's jobs cannot be made to run a user's code
# (see worker_hijack.py): a throwaway cluster with the worker and the
# embedded broker, traps planted in schema public, every job driven.
set -uo pipefail
cd "$(dirname "$0")/../.."
source scripts/common.sh
echo "-- worker hijack"
broker_dir=$(make_work_dir "broker-hijack")
bootstrap=$(bash scripts/broker.sh start "$broker_dir" 1) || { echo "worker hijack FAILED: the broker did not start"; exit 1; }
status=0
BROKER_DIR="$broker_dir" BOOTSTRAP="$bootstrap" timeout 300 bash scripts/with_cluster.sh hijack \
    bash -c "cd test/e2e && /usr/bin/python3 worker_hijack.py" || { echo "worker hijack FAILED"; status=1; }
bash scripts/broker.sh stop "$broker_dir" || status=1
exit $status
