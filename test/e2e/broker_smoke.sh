#!/usr/bin/env bash
# broker_smoke.sh — the embedded Kafka-protocol broker (tools/broker, driven by
# scripts/broker.sh) checked end to end with kcat as the independent client:
# keyed messages with headers round-trip, a full outage makes produce fail,
# recovery makes it work again, injected retriable produce errors are ridden
# out by the client, a non-retriable one is reported, and stop is clean.
set -euo pipefail
cd "$(dirname "$0")/../.."

mkdir -p /tmp/pg_eventstore
dir=$(mktemp -d /tmp/pg_eventstore/broker-smoke.XXXXXX)
cleanup() {
    local status=$?
    bash scripts/broker.sh stop "$dir" >/dev/null 2>&1 || true
    if [ "$status" != 0 ] && [ -f "$dir/broker.log" ]; then
        echo "-- broker log (last 20 lines):" >&2
        tail -20 "$dir/broker.log" >&2
    fi
    rm -rf "$dir"
}
trap cleanup EXIT

step() { printf -- '-- broker smoke: %s\n' "$*"; }
fail() { echo "broker smoke FAILED: $*" >&2; exit 1; }
ctl() { bash scripts/broker.sh ctl "$dir" "$@"; }
# Every kcat call is bounded so that a hang fails the test instead of the suite.
produce() { timeout 30 kcat -P -b "$bootstrap" -t "$topic" -K: "$@"; }
consume() { timeout 30 kcat -C -b "$bootstrap" -t "$topic" -e -q "$@"; }

step "start three brokers"
bootstrap=$(bash scripts/broker.sh start "$dir" 3)
[[ "$bootstrap" =~ ^127\.0\.0\.1:[0-9]+,127\.0\.0\.1:[0-9]+,127\.0\.0\.1:[0-9]+$ ]] \
    || fail "unexpected bootstrap string '$bootstrap'"
[ "$(bash scripts/broker.sh bootstrap "$dir")" = "$bootstrap" ] || fail "bootstrap command disagrees with start"
ctl status | grep -q '^ok brokers=3 1=up 2=up 3=up ' || fail "status does not show three brokers up"

step "bad commands are refused"
if ctl no-such-command >/dev/null 2>&1; then fail "an unknown command was accepted"; fi
if ctl broker-down 4 >/dev/null 2>&1; then fail "a broker id out of range was accepted"; fi
if ctl produce-errors 1 NOT_A_KAFKA_ERROR >/dev/null 2>&1; then fail "an unknown error name was accepted"; fi

step "create a topic with 3 partitions"
topic=smoke_events
ctl create-topic "$topic" 3 >/dev/null
partitions=$(timeout 30 kcat -L -b "$bootstrap" -t "$topic" | grep -c 'partition [0-9]*, leader')
[ "$partitions" = 3 ] || fail "topic has $partitions partitions, expected 3"

step "100 keyed messages with headers round-trip"
for i in $(seq 1 100); do echo "stream-$((i % 7)):event-$i"; done \
    | produce -H source=broker_smoke -H ce_type=SmokeTested
expected=$(for i in $(seq 1 100); do echo "stream-$((i % 7)) event-$i source=broker_smoke,ce_type=SmokeTested"; done | sort)
actual=$(consume -f '%k %s %h\n' | sort)
[ "$actual" = "$expected" ] || fail "consumed messages differ from produced ones:
$(diff <(echo "$expected") <(echo "$actual") | head -10)"
# Same key, same partition: what per-stream order relies on.
keys_on_two_partitions=$(consume -f '%k %p\n' | sort -u | awk '{print $1}' | uniq -d)
[ -z "$keys_on_two_partitions" ] || fail "keys spread over several partitions: $keys_on_two_partitions"

step "all brokers down: produce fails"
ctl all-down >/dev/null
ctl status | grep -q ' 1=down 2=down 3=down ' || fail "status does not show the outage"
if echo "stream-1:during-outage" | produce -X message.timeout.ms=1500 >/dev/null 2>&1; then
    fail "produce succeeded with every broker down"
fi

step "brokers up again: produce works"
ctl all-up >/dev/null
echo "stream-1:after-outage" | produce -X message.timeout.ms=10000 || fail "produce failed after all-up"

step "injected retriable produce errors are retried by the client"
ctl produce-errors 5 NOT_ENOUGH_REPLICAS | grep -q '^ok next 5 produce requests fail with NOT_ENOUGH_REPLICAS' \
    || fail "produce-errors reply unexpected"
for i in $(seq 1 10); do echo "stream-2:retried-$i"; done | produce || fail "retriable errors were not ridden out"
ctl produce-errors 2 REQUEST_TIMED_OUT >/dev/null
echo "stream-3:retried-timeout" | produce || fail "REQUEST_TIMED_OUT was not ridden out"

step "an injected non-retriable error is reported to the producer"
ctl produce-errors 1 MESSAGE_TOO_LARGE >/dev/null
if echo "stream-4:rejected" | produce 2>/dev/null; then fail "MESSAGE_TOO_LARGE did not fail the delivery"; fi

step "the log holds each delivered message exactly once"
values=$(consume -f '%s\n' | sort)
[ "$(grep -c '^event-' <<<"$values")" = 100 ] || fail "the first 100 messages changed"
for value in after-outage retried-{1..10} retried-timeout; do
    [ "$(grep -cx "$value" <<<"$values")" = 1 ] || fail "'$value' is not in the log exactly once"
done
for value in during-outage rejected; do
    if grep -qx "$value" <<<"$values"; then fail "'$value' was stored although its delivery failed"; fi
done

step "stop exits cleanly"
pid=$(cat "$dir/pid")
bash scripts/broker.sh stop "$dir" || fail "stop failed"
if kill -0 "$pid" 2>/dev/null; then fail "the broker process is still running"; fi
[ ! -e "$dir/bootstrap" ] || fail "the bootstrap file is still there"
[ ! -e "$dir/control.sock" ] || fail "the control socket is still there"
grep -q 'stopping on' "$dir/broker.log" || fail "the broker log does not show a clean stop"

echo "broker smoke: all checks passed"
