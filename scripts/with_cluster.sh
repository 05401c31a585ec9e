#!/usr/bin/env bash
# with_cluster.sh NAME COMMAND... — runs COMMAND against a fresh throwaway
# cluster (extension created, worker preloaded) and stops the cluster after.
#
# COMMAND sees PGHOST, PGPORT, PGDATABASE, PGUSER and CLUSTER_DIR.  The port
# is derived from NAME so suites never collide.
set -uo pipefail
source "$(dirname "$0")/common.sh"

name=${1:?cluster name}
shift
dir=$(make_work_dir "cluster-$name")
# Below the kernel's ephemeral range (32768-60999 here): the embedded Kafka
# broker binds random ephemeral ports, and a cluster port inside that range
# could be taken by it.
port=$((25000 + $(echo -n "$name" | cksum | cut -d' ' -f1) % 900))
export CLUSTER_DIR="$dir" PGHOST="$dir" PGPORT="$port" PGDATABASE="eventstore_$name" PGUSER=postgres

bash "$PROJECT_ROOT/scripts/cluster.sh" start "$dir" "$port" "$PGDATABASE" ${CLUSTER_CONF:-} || {
    echo "could not start the cluster; server log:"; tail -30 "$dir/server.log" 2>/dev/null; exit 1; }
trap 'bash "$PROJECT_ROOT/scripts/cluster.sh" stop "$dir" immediate' EXIT
"$@"
