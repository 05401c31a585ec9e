#!/usr/bin/env bash
# demo.sh — `make demo`: installs what is missing, builds and installs the
# extension, starts a throwaway cluster with the worker preloaded, runs the
# banking scenario (scripts/demo_banking.sql: appends, read models kept by
# projections and one rebuilt after a handler fix, an account's state at
# points in time with a late, backdated event, a month closed and a late
# deposit routed to the exception queue and posted to the open period, the
# worker family, the outbox) with the worker publishing to the embedded Kafka-protocol broker,
# shows with kcat what arrived in Kafka, has the offline verifier catch a
# history rewrite against the signed checkpoints an auditor kept from Kafka
# (scripts/demo_anchoring.sh), and stops the cluster and the broker.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$PROJECT_ROOT"

bash scripts/setup.sh
say "build and install pg_eventstore"
make -s -j2 >/dev/null && make -s install >/dev/null
say "start the embedded Kafka-protocol broker (3 brokers)"
broker_dir=$(make_work_dir broker-demo)
bootstrap=$(bash scripts/broker.sh start "$broker_dir" 3)
trap 'bash scripts/broker.sh stop "$broker_dir" >/dev/null 2>&1 || true' EXIT
echo "bootstrap servers: $bootstrap"

say "make the worker's checkpoint signing key (Ed25519, readable by the server only)"
auditor_dir=$(make_work_dir auditor-demo)
signing_key="$auditor_dir/checkpoint-signing.key"
openssl genpkey -algorithm ed25519 -out "$signing_key" 2>/dev/null
[ "$(id -u)" = 0 ] && chown postgres:postgres "$signing_key"
chmod 600 "$signing_key"
echo "signing key: $signing_key"

say "start a throwaway cluster (shared_preload_libraries = pg_eventstore, publishing to the broker)"
export BOOTSTRAP="$bootstrap" AUDITOR_DIR="$auditor_dir"
CLUSTER_CONF="pg_eventstore.kafka_bootstrap_servers='$bootstrap' pg_eventstore.checkpoint_signing_key='$signing_key' pg_eventstore.checkpoint_topic='bank.checkpoints' pg_eventstore.checkpoint_interval='1s'" \
    bash scripts/with_cluster.sh demo bash -c '
    echo "cluster: $CLUSTER_DIR, port $PGPORT, database $PGDATABASE"
    psql -X -q -h "$PGHOST" -p "$PGPORT" -U postgres -d "$PGDATABASE" -f scripts/demo_banking.sql 2>&1
    echo
    echo "== 14. What arrived in Kafka, read back with kcat (an independent client)"
    echo "-- topic bank.accounts: key = stream id, value = event data, CloudEvents + es_* headers"
    kcat -C -b "$BOOTSTRAP" -t bank.accounts -o beginning -e -q \
        -f "partition %p offset %o  key %k\n  value:   %s\n  headers: %h\n"
    echo "-- topic bank.notices: the outbox message (the rolled-back one is absent)"
    kcat -C -b "$BOOTSTRAP" -t bank.notices -o beginning -e -q -f "key %k  value %s  headers: %h\n"
    bash scripts/demo_anchoring.sh
'
say "demo finished; the cluster and the broker are stopped"
