#!/usr/bin/env bash
# kafka_delivery.sh — delivery to Kafka end to end: a throwaway cluster with
# the worker, the embedded broker, kcat as the consumer (see
# kafka_delivery.py).  Each scenario gets a fresh cluster and broker.
# Run one with: bash test/e2e/kafka_delivery.sh broker-outage
set -uo pipefail
cd "$(dirname "$0")/../.."
source scripts/common.sh
scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(basic oversize bad-config produce-errors publisher-exception kill-worker immediate-stop broker-outage)
status=0
for scenario in "${scenarios[@]}"; do
    echo "-- kafka delivery: $scenario"
    broker_dir=$(make_work_dir "broker-$scenario")
    if ! bootstrap=$(bash scripts/broker.sh start "$broker_dir" 3); then
        echo "kafka delivery scenario $scenario FAILED: the broker did not start"
        status=1
        continue
    fi
    if ! BROKER_DIR="$broker_dir" BOOTSTRAP="$bootstrap" timeout 900 bash scripts/with_cluster.sh "kafka-$scenario" \
            bash -c "cd test/e2e && /usr/bin/python3 kafka_delivery.py $scenario"; then
        echo "kafka delivery scenario $scenario FAILED"
        status=1
    fi
    bash scripts/broker.sh stop "$broker_dir" || { echo "the broker did not stop cleanly"; status=1; }
done
exit $status
