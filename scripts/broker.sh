#!/usr/bin/env bash
# broker.sh — start, stop and steer the embedded Kafka-protocol broker
# (tools/broker, see docs/broker.md) that the tests and the demo publish to.
#
#   scripts/broker.sh start DIR [BROKERS]   build if needed, start BROKERS (default 3)
#                                           brokers with their state in DIR, wait
#                                           until ready, print the bootstrap string
#   scripts/broker.sh stop DIR              SIGTERM, wait for a clean exit
#   scripts/broker.sh bootstrap DIR         print the bootstrap string
#   scripts/broker.sh ctl DIR COMMAND ...   apply a control command and print the
#                                           reply (e.g. `ctl DIR broker-down 2`)
#
# The broker runs as the invoking user (root is fine: it needs no privileges
# and touches nothing outside DIR).  Its log is DIR/broker.log.
set -euo pipefail

PROJECT_ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BROKER_BIN="$PROJECT_ROOT/tools/broker/pg_eventstore_broker"
READY_TIMEOUT_TENTHS=100   # 10 s for start and for stop
usage="usage: broker.sh start DIR [BROKERS] | stop DIR | bootstrap DIR | ctl DIR COMMAND [ARGS...]"

command=${1:?$usage}
dir=${2:?$usage}

fail() { echo "broker.sh: $*" >&2; exit 1; }

# Builds the binary when missing or older than its sources; make decides.
# make's chatter goes to stderr so `start` prints only the bootstrap string.
build() {
    make -C "$PROJECT_ROOT/tools/broker" -s >&2 || fail "could not build $BROKER_BIN"
}

# Prints the pid of the broker running in DIR, or fails.  The command line is
# checked so that a pid file left by a killed broker, whose number the system
# has since given to another process, is never mistaken for a live broker.
running_pid() {
    local pid
    pid=$(cat "$dir/pid" 2>/dev/null) || return 1
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "pg_eventstore_broker --dir" || return 1
    echo "$pid"
}

case "$command" in
start)
    brokers=${3:-3}
    [[ "$brokers" =~ ^[1-9][0-9]*$ ]] || fail "BROKERS must be a positive number, got '$brokers'"
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)   # the broker and later calls must agree on one path
    if pid=$(running_pid); then
        fail "a broker is already running in $dir (pid $pid); stop it first"
    fi
    build
    rm -f "$dir/bootstrap" "$dir/pid"
    "$BROKER_BIN" --dir "$dir" --brokers "$brokers" </dev/null >>"$dir/broker.log" 2>&1 &
    pid=$!
    # The broker writes DIR/bootstrap (atomically) only once every listener
    # and the control socket are up, so its presence means ready.
    for _ in $(seq "$READY_TIMEOUT_TENTHS"); do
        if [ -s "$dir/bootstrap" ]; then
            cat "$dir/bootstrap"
            exit 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -5 "$dir/broker.log" >&2 || true
            fail "the broker exited during start-up (log: $dir/broker.log)"
        fi
        sleep 0.1
    done
    kill -TERM "$pid" 2>/dev/null || true
    fail "the broker was not ready within 10 s (log: $dir/broker.log)"
    ;;
stop)
    if ! pid=$(running_pid); then
        rm -f "$dir/bootstrap" "$dir/pid"
        echo "broker.sh: no broker running in $dir" >&2
        exit 0
    fi
    kill -TERM "$pid"
    for _ in $(seq "$READY_TIMEOUT_TENTHS"); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null || true
        rm -f "$dir/bootstrap" "$dir/pid" "$dir/control.sock"
        fail "the broker (pid $pid) ignored SIGTERM for 10 s and was killed"
    fi
    # A clean exit removes the bootstrap file; its presence means a crash.
    [ ! -e "$dir/bootstrap" ] || { rm -f "$dir/bootstrap"; fail "the broker did not exit cleanly (log: $dir/broker.log)"; }
    ;;
bootstrap)
    [ -s "$dir/bootstrap" ] || fail "no broker ready in $dir"
    cat "$dir/bootstrap"
    ;;
ctl)
    [ $# -ge 3 ] || fail "$usage"
    [ -x "$BROKER_BIN" ] || build
    shift 2
    # The binary's client mode connects to DIR/control.sock, waits for the
    # reply (sent after the command was applied) and exits 0 for `ok ...`,
    # 1 for `error: ...`, 2 when no broker answers.
    exec "$BROKER_BIN" --ctl "$dir" "$@"
    ;;
*)
    fail "unknown command '$command'; $usage"
    ;;
esac
