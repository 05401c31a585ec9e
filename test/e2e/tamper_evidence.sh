#!/usr/bin/env bash
# tamper_evidence.sh — signed, anchored checkpoints against a superuser who
# rewrites the log (see tamper_evidence.py): a throwaway cluster with the
# worker, the embedded broker carrying the checkpoints, kcat as the
# auditor, and the offline verifier tools/pg_eventstore_verify.
set -uo pipefail
cd "$(dirname "$0")/../.."
source scripts/common.sh
make -s tools/pg_eventstore_verify >/dev/null || { echo "tamper_evidence.sh: could not build the verifier"; exit 1; }
broker_dir=$(make_work_dir "broker-tamper")
bootstrap=$(bash scripts/broker.sh start "$broker_dir" 1) || { echo "tamper_evidence.sh: the broker did not start"; exit 1; }
BROKER_DIR="$broker_dir" BOOTSTRAP="$bootstrap" timeout 600 bash scripts/with_cluster.sh e2e-tamper \
    bash -c "cd test/e2e && /usr/bin/python3 -u tamper_evidence.py"
status=$?
bash scripts/broker.sh stop "$broker_dir" || status=1
[ $status -eq 0 ] || echo "tamper_evidence.sh: FAILED (exit status $status)"
exit $status
