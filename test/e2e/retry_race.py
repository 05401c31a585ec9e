"""retry_race.py — identical appends racing each other all succeed, once.

A client that lost the reply sends the same call again, possibly while the
original is still in flight; a load balancer or a retrying driver can send
it many times at once.  Twelve connections send the same append (same
event id, same content) at the same instant, over many rounds with and
without an expected version, single events and batches.  Every call must
return the same stream version and exactly one copy may be stored.  Before
the fix, 1 of 12 succeeded and 11 got ES002 ("stored concurrently").

    python3 retry_race.py   (env from scripts/with_cluster.sh)
"""
import random
import sys
import threading
import time
import uuid

from cluster_control import DSN, query
from eventstore_load import connect

CLIENTS = 12
ROUNDS = 30


def race(connections, statement, params):
    """Runs statement on every connection at once; returns each result or error."""
    barrier = threading.Barrier(len(connections))
    results = [None] * len(connections)

    def client(i):
        cursor = connections[i].cursor()
        barrier.wait()
        try:
            cursor.execute(statement, params)
            results[i] = ("ok", cursor.fetchone()[0])
        except Exception as error:  # the outcome under test
            results[i] = ("error", "%s %s" % (getattr(error, "pgcode", ""), str(error).splitlines()[0]))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(connections))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def main():
    rng = random.Random(11)
    connections = [connect(DSN, time.time() + 30) for _ in range(CLIENTS)]
    for connection in connections:
        connection.autocommit = True
    failures = []
    for n in range(ROUNDS):
        stream = "race-%d" % (n % 4)
        event_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        expected = None if n % 3 == 0 else query(DSN, "SELECT eventstore.stream_version(%s)", (stream,))[0][0]
        if n % 2 == 0:
            statement = ("SELECT eventstore.append(%s, 'Raced', %s::jsonb, expected_version => %s, "
                         "event_id => %s::uuid)")
            params = (stream, '{"round": %d}' % n, expected, event_id)
        else:
            statement = ("SELECT eventstore.append_batch(%s, ARRAY[ROW(%s::uuid, 'Raced', %s::jsonb, NULL, NULL, NULL),"
                         " ROW(NULL, 'RacedToo', '{}', NULL, NULL, NULL)]::eventstore.new_event[], %s)")
            params = (stream, event_id, '{"round": %d}' % n, expected)
        results = race(connections, statement, params)
        versions = {value for kind, value in results if kind == "ok"}
        errors = [value for kind, value in results if kind != "ok"]
        stored = query(DSN, "SELECT count(*) FROM eventstore.events WHERE event_id = %s::uuid", (event_id,))[0][0]
        if errors or len(versions) != 1 or stored != 1:
            failures.append("round %d: %d of %d succeeded, versions %s, %d stored, errors %s"
                            % (n, CLIENTS - len(errors), CLIENTS, sorted(versions), stored, errors[:2]))
    total = query(DSN, "SELECT count(*) FROM eventstore.events")[0][0]
    expected_total = sum(1 if n % 2 == 0 else 2 for n in range(ROUNDS))
    print("%d rounds of %d identical calls: %d events stored (expected %d), %d rounds failed"
          % (ROUNDS, CLIENTS, total, expected_total, len(failures)))
    for failure in failures[:5]:
        print("PROBLEM:", failure)
    if total != expected_total:
        failures.append("stored %d events, expected %d" % (total, expected_total))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
