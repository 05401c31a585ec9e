"""kafka_delivery.py — end-to-end delivery to Kafka, checked with kcat.

A real server with the worker, the embedded Kafka-protocol broker
(scripts/broker.sh) and kcat as the independent consumer.  Each scenario
appends with the multi-client load of eventstore_load.py (which knows
exactly which events committed), disturbs something, waits until the
publisher has caught up, consumes every topic from the beginning with kcat
and checks:
  - every committed event arrived (at least once), nothing else did;
  - per key (stream), events arrive in stream-version order once duplicates
    are dropped by ce_id, and without gaps;
  - duplicates, if the scenario allows any, are bounded by one in-flight window;
  - headers and payload are exactly the event's (scenario "basic").

    python3 kafka_delivery.py SCENARIO   (env: PGHOST, PGPORT, PGDATABASE,
                                           CLUSTER_DIR, BROKER_DIR, BOOTSTRAP)
Run with Debian's /usr/bin/python3 (it has psycopg2).
"""
import json
import os
import re
import signal
import subprocess
import sys
import time

from cluster_control import DSN, query, restart_immediately, worker_pid
from eventstore_load import connect, run_load

BOOTSTRAP = os.environ["BOOTSTRAP"]
BROKER_DIR = os.environ["BROKER_DIR"]
PROJECT_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BATCH_SIZE = 2000  # pg_eventstore.kafka_batch_size for these tests: the duplicate bound


def sql(statement, params=None):
    return query(DSN, statement, params)


def configure_publishing(kafka_config=""):
    sql("ALTER SYSTEM SET pg_eventstore.kafka_bootstrap_servers = %s", (BOOTSTRAP,))
    sql("ALTER SYSTEM SET pg_eventstore.kafka_config = %s", (kafka_config,))
    sql("ALTER SYSTEM SET pg_eventstore.kafka_batch_size = %s", (str(BATCH_SIZE),))
    sql("SELECT pg_reload_conf()")


def broker(*command):
    result = subprocess.run(["bash", os.path.join(PROJECT_ROOT, "scripts/broker.sh"), "ctl", BROKER_DIR]
                            + list(command), capture_output=True, text=True)
    print("broker %s: %s" % (" ".join(command), (result.stdout + result.stderr).strip()), flush=True)
    if result.returncode != 0:
        raise AssertionError("broker control failed: %s" % " ".join(command))


def status():
    rows = sql("SELECT state, published_position, sequenced_position, pending_events, pending_messages, "
               "in_flight, dead_letters, last_error FROM eventstore.outbox_status")
    names = ["state", "published", "sequenced", "pending_events", "pending_messages", "in_flight",
             "dead_letters", "last_error"]
    return dict(zip(names, rows[0]))


def wait_until_published(committed_events, timeout=300):
    """Waits until every committed event is sequenced and published, and the outbox is empty."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = status()
        if (last["sequenced"] >= committed_events and last["published"] == last["sequenced"]
                and last["pending_messages"] == 0):
            print("published: %s" % last, flush=True)
            return last
        time.sleep(0.5)
    raise AssertionError("not everything was published within %d s: %s" % (timeout, last))


def consume(topic):
    """Every message of a topic, from the beginning, as dicts (kcat -J)."""
    result = subprocess.run(["kcat", "-C", "-b", BOOTSTRAP, "-t", topic, "-o", "beginning", "-e", "-q", "-J"],
                            capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise AssertionError("kcat failed on %s: %s" % (topic, result.stderr))
    messages = []
    for line in result.stdout.splitlines():
        if not line.strip():
            continue
        message = json.loads(line)
        pairs = message.get("headers") or []
        message["headers"] = dict(zip(pairs[0::2], pairs[1::2]))
        messages.append(message)
    return messages


def check_event_stream(messages, ledger, max_duplicates):
    """The delivery checks shared by every scenario; returns a list of problems."""
    problems = []
    committed = {str(event_id): where for event_id, where in ledger.committed.items()}
    seen = {}
    by_key = {}
    for message in sorted(messages, key=lambda m: (m["partition"], m["offset"])):
        ce_id = message["headers"].get("ce_id")
        if ce_id not in committed:
            problems.append("message for an event that did not commit: %s" % ce_id)
            continue
        if ce_id in seen:
            seen[ce_id] += 1
            continue  # consumers dedupe by ce_id; only first deliveries count for order
        seen[ce_id] = 1
        stream_id, version = committed[ce_id]
        if message["key"] != stream_id:
            problems.append("event %s has key %s, expected %s" % (ce_id, message["key"], stream_id))
        if int(message["headers"]["es_stream_version"]) != version:
            problems.append("event %s has es_stream_version %s, expected %s"
                            % (ce_id, message["headers"]["es_stream_version"], version))
        by_key.setdefault(message["key"], []).append(version)
    missing = set(committed) - set(seen)
    if missing:
        problems.append("%d committed events never arrived, e.g. %s" % (len(missing), sorted(missing)[:3]))
    for key, versions in by_key.items():
        if versions != list(range(1, len(versions) + 1)):
            problems.append("stream %s arrived out of order: %s" % (key, versions[:20]))
            break
    duplicates = sum(count - 1 for count in seen.values())
    print("events: %d committed, %d messages, %d distinct, %d duplicates, %d keys"
          % (len(committed), len(messages), len(seen), duplicates, len(by_key)), flush=True)
    if duplicates > max_duplicates:
        problems.append("%d duplicates, more than the allowed %d" % (duplicates, max_duplicates))
    return problems


def report(problems):
    for problem in problems:
        print("PROBLEM:", problem)
    return 1 if problems else 0


def load(events, during=None, **options):
    options.setdefault("holding_clients", 0)
    options.setdefault("clients", 4)
    return run_load(DSN, seed=11, target_events=events, during=during, max_seconds=600, **options)


# --- scenarios ---------------------------------------------------------------

def scenario_basic():
    """Routing, exact headers and payloads, outbox commit/rollback."""
    configure_publishing()
    sql("SELECT eventstore.add_route('client0', 'orders.client0')")
    ledger = load(int(os.environ.get("EVENTS", "3000")))
    connection = connect(DSN, time.time() + 60)
    cursor = connection.cursor()
    cursor.execute("SELECT eventstore.publish('notices', 'n-1', '{\"text\": \"committed\"}', '{\"kind\": \"notice\"}')")
    connection.commit()
    cursor.execute("SELECT eventstore.publish('notices', 'n-2', '{\"text\": \"rolled back\"}')")
    connection.rollback()
    connection.close()
    wait_until_published(len(ledger.committed))

    messages = consume("eventstore.events") + consume("orders.client0")
    problems = check_event_stream(messages, ledger, max_duplicates=0)

    expected = {}
    for position, topic, key, payload, headers in sql(
            "SELECT global_position, topic, key, payload::text, headers FROM eventstore.event_messages"):
        expected[headers["ce_id"]] = (topic, key, json.loads(payload), headers)
    for message in messages:
        topic, key, payload, headers = expected[message["headers"]["ce_id"]]
        if message["topic"] != topic:
            problems.append("event %s went to %s, expected %s" % (key, message["topic"], topic))
        if json.loads(message["payload"]) != payload:
            problems.append("payload of %s differs" % message["headers"]["ce_id"])
        if message["headers"] != headers:
            problems.append("headers differ: got %s expected %s" % (message["headers"], headers))
        if len(problems) > 5:
            break
    routed = [m for m in messages if m["topic"] == "orders.client0"]
    if not routed or any(not m["key"].startswith("client0-") for m in routed):
        problems.append("the client0 route was not followed (%d messages on orders.client0)" % len(routed))

    notices = consume("notices")
    if [(m["key"], json.loads(m["payload"])) for m in notices] != [("n-1", {"text": "committed"})]:
        problems.append("outbox: expected only the committed notice, got %s" % notices)
    elif notices[0]["headers"].get("kind") != "notice" or "es_outbox_id" not in notices[0]["headers"]:
        problems.append("outbox headers wrong: %s" % notices[0]["headers"])
    return report(problems)


def scenario_broker_outage():
    """Every broker down for 10 s in the middle of a 100,000-event load: the
    window waits in the producer and goes out in order when the brokers are
    back (no local timeout, so no message can be overtaken by a younger one);
    nothing is lost, and duplicates stay within the in-flight window."""
    configure_publishing()
    target = int(os.environ.get("EVENTS", "100000"))

    def outage(ledger):
        while ledger.count() < target // 4:
            time.sleep(0.05)
        broker("all-down")
        time.sleep(2)
        during.append(status())
        time.sleep(7)
        during.append(status())
        print("during the outage: %s" % during, flush=True)
        broker("all-up")

    during = []
    wait_for_producer()
    ledger = load(target, during=outage, max_batch=50)
    final = wait_until_published(len(ledger.committed), timeout=600)
    # The idempotent producer's retries across the outage keep every key's
    # order.  They may still duplicate a few messages of the in-flight window
    # when partition leaders come back (librdkafka issue 4953, open: seen
    # here once in five runs, 63 duplicates of a 2,000-message window), so
    # duplicates are allowed up to that window, as at-least-once promises;
    # consumers drop them by ce_id.
    problems = check_event_stream(consume("eventstore.events"), ledger, max_duplicates=BATCH_SIZE)
    if not final["last_error"]:
        problems.append("the outage left no last_error in outbox_status")
    if during[1]["published"] != during[0]["published"]:
        problems.append("the published position moved while every broker was down: %s" % during)
    if during[1]["pending_events"] <= during[0]["pending_events"]:
        problems.append("events did not wait in the store during the outage: %s" % during)
    return report(problems)


def scenario_produce_errors():
    """Injected retriable produce errors: no duplicates, order kept (idempotent producer)."""
    configure_publishing()

    def inject(ledger):
        for round_number in range(5):
            while ledger.count() < (round_number + 1) * 2000:
                time.sleep(0.05)
            broker("produce-errors", "5", "NOT_ENOUGH_REPLICAS")

    ledger = load(int(os.environ.get("EVENTS", "12000")), during=inject)
    wait_until_published(len(ledger.committed))
    return report(check_event_stream(consume("eventstore.events"), ledger, max_duplicates=0))


def scenario_oversize():
    """A message over the size limit becomes a dead letter; later events still go out."""
    configure_publishing("message.max.bytes=20000")
    time.sleep(1)
    sql("SELECT eventstore.append('big-1', 'Small', '{\"n\": 1}')")
    big = json.dumps({"blob": "x" * 50000})
    sql("SELECT eventstore.append('big-1', 'Huge', %s::jsonb)", (big,))
    sql("SELECT eventstore.append('big-1', 'Small', '{\"n\": 3}')")
    wait_until_published(3)
    problems = []
    dead = sql("SELECT source, global_position, key, error_code, error FROM eventstore.dead_letters")
    print("dead letters:", dead)
    if len(dead) != 1 or dead[0][0] != "event" or dead[0][3] != "MSG_SIZE_TOO_LARGE":
        problems.append("expected one MSG_SIZE_TOO_LARGE dead letter, got %s" % dead)
    arrived = [m["headers"]["es_stream_version"] for m in consume("eventstore.events")]
    if arrived != ["1", "3"]:
        problems.append("expected versions 1 and 3 on the topic, got %s" % arrived)

    # The operator raises the limit and re-drives: the event arrives with its original headers.
    configure_publishing("message.max.bytes=1000000")
    time.sleep(1)
    moved = sql("SELECT eventstore.redrive_dead_letters()")[0][0]
    wait_until_published(3)
    arrived = consume("eventstore.events")
    versions = [m["headers"]["es_stream_version"] for m in arrived]
    if moved != 1 or versions != ["1", "3", "2"] or len(arrived[2]["payload"]) < 50000:
        problems.append("redrive: moved %s, versions now %s" % (moved, versions))
    if sql("SELECT count(*) FROM eventstore.dead_letters")[0][0] != 0:
        problems.append("dead letters left after redrive")
    return report(problems)


def scenario_bad_config():
    """A property librdkafka rejects: the publisher retries with backoff and
    says why in outbox_status; a reload with a good kafka_config rebuilds the
    producer and what waited is published (docs/kafka.md, failure modes)."""
    configure_publishing("no.such.property=1")
    sql("SELECT eventstore.append('cfg-1', 'Noted', '{\"n\": 1}')")
    problems = []
    deadline = time.time() + 30
    seen = status()
    while time.time() < deadline and not (seen["state"] == "retrying"
                                          and "no.such.property" in (seen["last_error"] or "")):
        time.sleep(0.2)
        seen = status()
    print("with the bad property: %s" % seen, flush=True)
    if seen["state"] != "retrying" or "no.such.property" not in (seen["last_error"] or ""):
        problems.append("a rejected property did not show as retrying with its name: %s" % seen)
    if seen["published"] != 0:
        problems.append("something was published without a producer: %s" % seen)
    configure_publishing()
    wait_until_published(1, timeout=60)
    arrived = [m["key"] for m in consume("eventstore.events")]
    if arrived != ["cfg-1"]:
        problems.append("after the reload expected cfg-1 on the topic, got %s" % arrived)
    return report(problems)


def wait_for_producer(timeout=30):
    """Waits until the publisher has its producer, so a load meets a working publisher."""
    deadline = time.time() + timeout
    while status()["state"] not in ("idle", "publishing"):
        if time.time() > deadline:
            raise AssertionError("the publisher did not start within %d s: %s" % (timeout, status()))
        time.sleep(0.1)


RESUMED = re.compile(r"pg_eventstore publisher: publishing events after global position (\d+)")


def resume_positions():
    """Every position the publisher (re)started sending after, oldest first, from the server log."""
    with open(os.path.join(os.environ["CLUSTER_DIR"], "server.log"), errors="replace") as log:
        return [int(match.group(1)) for match in RESUMED.finditer(log.read())]


def crash_mid_batch(crash):
    """Crashes while messages are written to Kafka but not acknowledged, then
    checks at-least-once delivery and that the duplicates come only from that
    window: after the position the publisher resumed from, and no further than
    one window (kafka_batch_size) beyond it."""
    configure_publishing()
    wait_for_producer()
    target = int(os.environ.get("EVENTS", "30000"))
    at_crash = {}

    def saboteur(ledger):
        while ledger.count() < target // 2:
            time.sleep(0.05)
        # Slow acknowledgements (the brokers write at once and answer 300 ms
        # later), so that a window is surely written but unacknowledged.
        for broker_id in (1, 2, 3):
            broker("rtt", str(broker_id), "300")
        deadline = time.time() + 30
        while not (status()["in_flight"] > 0 and status()["published"] > 0):
            if time.time() > deadline:
                raise AssertionError("nothing in flight to crash in: %s" % status())
            time.sleep(0.05)
        time.sleep(0.5)
        at_crash.update(status())
        print("before the crash: %s" % at_crash, flush=True)
        crash()
        for broker_id in (1, 2, 3):
            broker("rtt", str(broker_id), "0")

    ledger = load(target, during=saboteur)
    wait_until_published(len(ledger.committed))
    messages = consume("eventstore.events")
    problems = check_event_stream(messages, ledger, max_duplicates=BATCH_SIZE)

    resumes = resume_positions()
    print("publisher resumed after positions %s" % resumes, flush=True)
    if len(resumes) < 2:
        return report(problems + ["the server log shows no restart of the publisher: %s" % resumes])
    resumed_after = resumes[-1]
    if resumed_after < at_crash["published"]:
        problems.append("the crash took back recorded progress: published %d before, resumed after %d"
                        % (at_crash["published"], resumed_after))
    deliveries = {}
    for message in messages:
        position = int(message["headers"]["es_global_position"])
        deliveries[position] = deliveries.get(position, 0) + 1
    duplicated = sorted(position for position, count in deliveries.items() if count > 1)
    print("duplicated positions: %d, from %s to %s" % (len(duplicated), duplicated[:1], duplicated[-1:]), flush=True)
    if not duplicated:
        problems.append("no duplicates: the crash did not catch a written, unacknowledged window")
    outside = [p for p in duplicated if not resumed_after < p <= resumed_after + BATCH_SIZE]
    if outside:
        problems.append("%d duplicates outside the in-flight window (%d, %d], e.g. %s"
                        % (len(outside), resumed_after, resumed_after + BATCH_SIZE, outside[:5]))
    return report(problems)


def scenario_kill_worker():
    def crash():
        pid = worker_pid(job="publisher")
        os.kill(pid, signal.SIGKILL)
        print("killed the publisher %d" % pid, flush=True)
    return crash_mid_batch(crash)


def job_row(job):
    return sql("SELECT pid, state, last_error FROM eventstore.worker_status WHERE job = %s", (job,))[0]


def scenario_publisher_exception():
    """A C++ exception inside the publisher's round (injected with
    pg_eventstore.inject_publisher_failure) fails that round like any error:
    it is logged and shown in worker_status and outbox_status, the publisher
    process lives on (no std::terminate, no cluster restart), the sequencer
    keeps sequencing meanwhile, and once the failures stop everything
    committed is published."""
    configure_publishing()
    wait_for_producer()
    publisher_pid, sequencer_pid = worker_pid(job="publisher"), worker_pid()
    sql("ALTER SYSTEM SET pg_eventstore.inject_publisher_failure = on")
    sql("SELECT pg_reload_conf()")
    problems = []
    deadline = time.time() + 30
    while time.time() < deadline and job_row("publisher")[1] != "backing off after error":
        time.sleep(0.1)
    ledger = load(2000)
    sequenced = sql("SELECT eventstore.wait_for_position(%s, '60 seconds')", (len(ledger.committed),))[0][0]
    pid, state, last_error = job_row("publisher")
    outbox_error = status()["last_error"] or ""
    print("while failing: publisher pid %s (before %s), state %r, last_error %r; outbox_status last_error %r; "
          "sequenced meanwhile: %s" % (pid, publisher_pid, state, last_error, outbox_error, sequenced), flush=True)
    if pid != publisher_pid:
        problems.append("the publisher process was replaced: the exception was not contained")
    if "injected failure" not in (last_error or "") or "injected failure" not in outbox_error:
        problems.append("the exception is not shown in worker_status and outbox_status")
    if not sequenced or worker_pid() != sequencer_pid:
        problems.append("the sequencer did not go on while the publisher failed")
    sql("ALTER SYSTEM RESET pg_eventstore.inject_publisher_failure")
    sql("SELECT pg_reload_conf()")
    wait_until_published(len(ledger.committed))
    problems += check_event_stream(consume("eventstore.events"), ledger, max_duplicates=BATCH_SIZE)
    return report(problems)


def scenario_immediate_stop():
    return crash_mid_batch(restart_immediately)


SCENARIOS = {
    "basic": scenario_basic,
    "broker-outage": scenario_broker_outage,
    "produce-errors": scenario_produce_errors,
    "oversize": scenario_oversize,
    "bad-config": scenario_bad_config,
    "kill-worker": scenario_kill_worker,
    "publisher-exception": scenario_publisher_exception,
    "immediate-stop": scenario_immediate_stop,
}

if __name__ == "__main__":
    sys.exit(SCENARIOS[sys.argv[1]]())
