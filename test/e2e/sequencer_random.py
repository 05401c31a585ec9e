"""sequencer_random.py — randomized multi-client test of the global order.

At least 8 concurrent clients append single events and batches to shared hot
streams and to their own streams, roll back about one transaction in ten, hit
expected-version conflicts, and two of them sometimes hold a transaction open
for seconds.  When 200,000 events are committed, read_all must return every
committed event exactly once, at dense positions 1..N, each stream's versions
in increasing position order, and no rolled-back event.

Usage: sequencer_random.py DSN [target_events]
"""
import sys
import time

from eventstore_load import check_sequenced_log, run_load, wait_until_sequenced


def main():
    dsn = sys.argv[1]
    target = int(sys.argv[2]) if len(sys.argv) > 2 else 200000
    started = time.time()
    ledger = run_load(dsn, seed=20261122, clients=8, target_events=target)
    committed = len(ledger.committed)
    print("committed %d events, rolled back %d, %d expected-version conflicts, in %.1f s"
          % (committed, len(ledger.rolled_back), ledger.conflicts, time.time() - started))
    if committed < target:
        print("FAILED: the load committed only %d of %d events" % (committed, target))
        return 1
    wait_until_sequenced(dsn, committed)
    problems, sequenced = check_sequenced_log(dsn, ledger)
    print("read_all returned %d events" % sequenced)
    for problem in problems:
        print("PROBLEM:", problem)
    if problems:
        return 1
    print("ok: every committed event exactly once, dense positions, per-stream order kept, "
          "no rolled-back event")
    return 0


if __name__ == "__main__":
    sys.exit(main())
