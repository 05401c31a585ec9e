#!/usr/bin/env bash
# sequencer_random.sh — the randomized 8-client, 200,000-event test of the
# sequencer's global order (see sequencer_random.py).  EVENTS=N shortens it.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CLUSTER_CONF="synchronous_commit=off"
bash scripts/with_cluster.sh e2e-random bash -c \
    'cd test/e2e && /usr/bin/python3 sequencer_random.py "host=$PGHOST port=$PGPORT dbname=$PGDATABASE user=postgres" '"${EVENTS:-200000}"
