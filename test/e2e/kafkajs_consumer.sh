#!/usr/bin/env bash
# kafkajs_consumer.sh — the store seen from Node.js: events appended with
# node-postgres, consumed from Kafka with a plain kafkajs consumer (no codec
# packages), in a throwaway cluster whose worker publishes to the embedded
# broker (see node/consume_events.js for what is checked).
#
# kafkajs, the most used Node.js Kafka client, decodes only gzip out of the
# box; when the publisher compressed with lz4 its consumers stopped with
# "KafkaJSNotImplemented: LZ4 compression not implemented".  This test runs
# with the producer's defaults, so it fails if they stop suiting it.
#
#   bash test/e2e/kafkajs_consumer.sh
#
# Needs node (18 or later) and npm: the ones on PATH, or else Debian's
# nodejs and npm packages, installed when run as root.  The npm packages
# (kafkajs, pg, pinned by node/package-lock.json) are installed with
# `npm ci` into test/e2e/node/node_modules when missing or older than the
# lock file (into a copy under the work area if the checkout is read-only).
# The cluster, the broker and the logs live under $WORK_ROOT
# (/tmp/pg_eventstore).  One line at the end says PASSED or FAILED.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
source scripts/common.sh

NODE_TIMEOUT=60   # a backstop: consume_events.js times out each of its steps itself

fail() {
    echo "kafkajs consumer: FAILED ($*)"
    exit 1
}

# --- inside the throwaway cluster (with_cluster.sh runs this script again) ---
if [ "${1:-}" = inside ]; then
    : "${BOOTSTRAP:?set by the outer run}" "${NODE_DIR:?set by the outer run}"
    # What an operator does to turn publishing on; the bootstrap string is the
    # embedded broker's, handed down by the outer run.
    "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -v bootstrap="$BOOTSTRAP" >/dev/null <<'SQL' || exit 1
ALTER SYSTEM SET pg_eventstore.kafka_bootstrap_servers = :'bootstrap';
SELECT pg_reload_conf();
SQL
    echo "cluster: $CLUSTER_DIR (server log: $CLUSTER_DIR/server.log)"
    cd "$NODE_DIR" || exit 1
    timeout "$NODE_TIMEOUT" node consume_events.js
    exit $?
fi

# --- node and npm -----------------------------------------------------------
missing=()
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
        fail "${missing[*]} missing: install Node.js 18 or later with npm, or run as root to get Debian's"
    fi
    echo "installing Debian's ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    { timeout 300 apt-get update -qq &&
        timeout 600 apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; } ||
        fail "apt-get could not install ${missing[*]}"
    hash -r
fi
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 18 ? 0 : 1)' ||
    fail "node $(node --version) at $(command -v node) is too old: kafkajs and pg need 18 or later here"
echo "node $(node --version) ($(command -v node)), npm $(npm --version)"

# --- the npm packages -------------------------------------------------------
work_dir=$(make_work_dir kafkajs)
node_dir="$PROJECT_ROOT/test/e2e/node"
if [ ! -w "$node_dir" ]; then
    cp -p "$node_dir/package.json" "$node_dir/package-lock.json" "$node_dir"/*.js "$work_dir/" ||
        fail "could not copy $node_dir to $work_dir"
    [ -d "$node_dir/node_modules" ] && cp -rp "$node_dir/node_modules" "$work_dir/"
    node_dir=$work_dir
fi
# npm ci leaves node_modules/.package-lock.json; a lock file newer than it
# means the dependencies changed since the last install.
if [ ! -d "$node_dir/node_modules" ] || [ "$node_dir/package-lock.json" -nt "$node_dir/node_modules/.package-lock.json" ]; then
    echo "npm ci in $node_dir"
    (cd "$node_dir" && timeout 300 npm ci --no-audit --no-fund --loglevel=error) ||
        fail "npm ci failed in $node_dir"
fi

# --- the broker and the cluster ---------------------------------------------
broker_dir=$(make_work_dir kafkajs-broker)
bootstrap=$(bash scripts/broker.sh start "$broker_dir" 3) || fail "the broker did not start (log: $broker_dir/broker.log)"
trap 'bash scripts/broker.sh stop "$broker_dir" >/dev/null 2>&1' EXIT
echo "broker: $bootstrap"

log="$work_dir/consume_events.log"
BOOTSTRAP="$bootstrap" NODE_DIR="$node_dir" timeout 180 \
    bash scripts/with_cluster.sh kafkajs bash "$PROJECT_ROOT/test/e2e/kafkajs_consumer.sh" inside 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

# consume_events.js ends with its own verdict; say why when it could not.
if ! grep -q '^kafkajs consumer: ' "$log"; then
    case $status in
        0) fail "the Node.js program said nothing conclusive (log: $log)" ;;
        124) fail "timed out (log: $log)" ;;
        *) fail "the cluster or the Node.js program failed with status $status (log: $log)" ;;
    esac
fi
exit "$status"
