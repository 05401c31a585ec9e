"""worker_lifecycle.py — the worker survives crashes, reloads, and failover.

Scenarios (one per invocation, each on its own throwaway cluster):

  kill-worker     SIGKILL the worker in the middle of an 8-client append load.
                  The postmaster restarts the server processes, clients
                  reconnect and retry (idempotently), the worker comes back and
                  every committed event is sequenced exactly once.
  immediate-stop  `pg_ctl stop -m immediate` during the load, then start again:
                  every committed event is sequenced exactly once.
  sighup          a changed pg_eventstore.worker_naptime reaches the worker on
                  SIGHUP (pg_reload_conf) and shows in worker_status.
  failover        a streaming standby runs no worker jobs; the primary commits
                  events its sequencer cannot take (a superuser holds the
                  sequencer's lock), the primary dies, the standby is promoted and
                  its worker sequences what the old primary committed.
  round-fails     a sequencer round that fails (a constraint the positions
                  break) is reported, not fatal: worker_status says "backing
                  off after error" with the constraint in last_error, the pid
                  stays, and once the constraint is dropped every event is
                  sequenced exactly once.
  stop-while-backing-off
                  `pg_ctl stop -m fast` while the worker backs off after an
                  error finishes in under 2 s (the latch stays in every wait).
  lock-held       a superuser holds the sequencer's lock: the round fails on
                  the worker's lock_timeout, worker_status names the lock
                  wait, and sequencing resumes when the lock is released.

Usage: worker_lifecycle.py SCENARIO   (environment from scripts/with_cluster.sh)
"""
import os
import signal
import subprocess
import sys
import time

from cluster_control import CLUSTER_DIR, DSN, as_postgres, query, restart_immediately, worker_pid
from eventstore_load import check_sequenced_log, connect, run_load, wait_until_sequenced

def finish(ledger, extra_ok=True, extra_message=""):
    committed = len(ledger.committed)
    wait_until_sequenced(DSN, committed)
    problems, sequenced = check_sequenced_log(DSN, ledger)
    print("committed %d, rolled back %d, retries after disconnects %d, sequenced %d"
          % (committed, len(ledger.rolled_back), ledger.retries, sequenced))
    for problem in problems:
        print("PROBLEM:", problem)
    if not extra_ok:
        print("PROBLEM:", extra_message)
    return 0 if not problems and extra_ok else 1


def crash_during_load(crash):
    """Runs the load and calls crash() once a third of it is committed."""
    target = int(os.environ.get("EVENTS", "30000"))
    crashed = {}

    def saboteur(ledger):
        while ledger.count() < target // 3:
            time.sleep(0.05)
        crashed["before"] = ledger.count()
        crash()

    ledger = run_load(DSN, seed=7, clients=8, target_events=target, holding_clients=0,
                      during=saboteur, max_seconds=300)
    print("crashed after %d committed events" % crashed.get("before", -1))
    return ledger


def scenario_kill_worker():
    old_pid = worker_pid(DSN)
    ledger = crash_during_load(lambda: os.kill(old_pid, signal.SIGKILL))
    new_pid = worker_pid(DSN)
    print("worker pid before %d, after %d" % (old_pid, new_pid))
    return finish(ledger, new_pid != old_pid, "the worker was not restarted")


def scenario_immediate_stop():
    ledger = crash_during_load(restart_immediately)
    worker_pid(DSN)
    return finish(ledger)


def scenario_sighup():
    before = query(DSN, "SELECT worker_naptime_ms FROM eventstore.worker_status WHERE job = 'sequencer'")[0][0]
    query(DSN, "ALTER SYSTEM SET pg_eventstore.worker_naptime = '250ms'")
    query(DSN, "SELECT pg_reload_conf()")
    deadline = time.time() + 10
    after = before
    while time.time() < deadline and after != 250:
        time.sleep(0.1)
        after = query(DSN, "SELECT worker_naptime_ms FROM eventstore.worker_status WHERE job = 'sequencer'")[0][0]
    print("worker_naptime_ms before %s, after reload %s" % (before, after))
    query(DSN, "ALTER SYSTEM RESET pg_eventstore.worker_naptime")
    query(DSN, "SELECT pg_reload_conf()")
    return 0 if before == 1000 and after == 250 else 1


def scenario_failover():
    standby_dir = os.path.join(CLUSTER_DIR, "standby")
    standby_port = int(os.environ["PGPORT"]) + 1
    os.makedirs(standby_dir, exist_ok=True)
    if os.getuid() == 0:
        subprocess.run(["chown", "postgres:postgres", standby_dir], check=True)
    result = as_postgres("pg_basebackup", "-h", os.environ["PGHOST"], "-p", os.environ["PGPORT"],
                         "-U", "postgres", "-D", os.path.join(standby_dir, "data"), "-R", "-X", "stream")
    if result.returncode != 0:
        print("pg_basebackup failed:", result.stderr)
        return 1
    with open(os.path.join(standby_dir, "data", "postgresql.conf"), "a") as conf:
        conf.write("port = %d\nunix_socket_directories = '%s'\n" % (standby_port, standby_dir))
    result = as_postgres("pg_ctl", "-D", os.path.join(standby_dir, "data"), "-l",
                         os.path.join(standby_dir, "server.log"), "-w", "start")
    if result.returncode != 0:
        print("standby did not start:", result.stdout, result.stderr)
        return 1
    standby_dsn = "host=%s port=%d dbname=%s user=postgres" % (
        standby_dir, standby_port, os.environ["PGDATABASE"])
    try:
        return failover_steps(standby_dsn, standby_dir)
    finally:
        as_postgres("pg_ctl", "-D", os.path.join(standby_dir, "data"), "-m", "immediate", "-w", "stop")


def failover_steps(standby_dsn, standby_dir):
    failures = []
    in_recovery, = query(standby_dsn, "SELECT pg_is_in_recovery()")[0]
    pids = query(standby_dsn, "SELECT job, pid, state FROM eventstore.worker_status ORDER BY job")
    print("standby: in recovery %s, worker processes %s" % (in_recovery, pids))
    if not in_recovery or any(pid is not None for _, pid, _ in pids):
        failures.append("the standby runs a worker")

    # Events sequenced normally on the primary first.
    for n in range(50):
        query(DSN, "SELECT eventstore.append('before-1', 'Happened', %s::jsonb)", ('{"n": %d}' % n,))
    wait_until_sequenced(DSN, 50)

    # Now block the primary's sequencer and commit events it cannot take.
    blocker = connect(DSN, time.time() + 10)
    blocker.cursor().execute("LOCK TABLE eventstore.sequencer_lock IN EXCLUSIVE MODE")
    for n in range(200):
        query(DSN, "SELECT eventstore.append(%s, 'Happened', %s::jsonb)",
              ("after-%d" % (n % 7), '{"n": %d}' % n))
    sequenced_on_primary = query(DSN, "SELECT count(*) FROM eventstore.log_positions")[0][0]
    print("primary: 250 events committed, %d sequenced before the failover" % sequenced_on_primary)

    # Let the standby replay everything, then kill the primary.
    lsn = query(DSN, "SELECT pg_current_wal_lsn()")[0][0]
    deadline = time.time() + 30
    while time.time() < deadline:
        if query(standby_dsn, "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (lsn,))[0][0]:
            break
        time.sleep(0.1)
    standby_positions = query(standby_dsn, "SELECT count(*) FROM eventstore.log_positions")[0][0]
    print("standby before promotion: %d positions (it sequences nothing itself)" % standby_positions)
    if standby_positions != sequenced_on_primary:
        failures.append("the standby has %d positions, the primary %d"
                        % (standby_positions, sequenced_on_primary))
    as_postgres("pg_ctl", "-D", os.path.join(CLUSTER_DIR, "data"), "-m", "immediate", "-w", "stop")
    try:
        blocker.close()
    except Exception:
        pass

    result = as_postgres("pg_ctl", "-D", os.path.join(standby_dir, "data"), "-w", "promote")
    print("pg_ctl promote:", result.returncode, result.stdout.strip())
    promoted_pid = worker_pid(standby_dsn)
    reached = query(standby_dsn, "SELECT eventstore.wait_for_position(250, '60 seconds')")[0][0]
    rows = query(standby_dsn, "SELECT count(*), max(global_position) FROM eventstore.log_positions")[0]
    ok, detail = query(standby_dsn, "SELECT ok, detail FROM eventstore.verify_all()")[0]
    print("promoted: worker pid %s, positions %s (max %s), verify_all: %s" % (promoted_pid, rows[0], rows[1], detail))
    if not reached or rows[0] != 250 or rows[1] != 250 or not ok:
        failures.append("after promotion the log is not fully sequenced and verified")
    order = query(standby_dsn,
                  "SELECT bool_and(stream_version > prev) FROM (SELECT stream_version, "
                  "lag(stream_version, 1, 0::bigint) OVER (PARTITION BY stream_id ORDER BY global_position) "
                  "AS prev FROM eventstore.log_positions) t")[0][0]
    if not order:
        failures.append("per-stream version order broken after failover")
    for failure in failures:
        print("PROBLEM:", failure)
    return 1 if failures else 0


def worker_row(job="sequencer"):
    return query(DSN, "SELECT pid, state, last_error, last_error_at FROM eventstore.worker_status WHERE job = %s",
                 (job,))[0]


def wait_for_state(wanted, timeout=30):
    """Waits until worker_status.state is `wanted`; returns the last row seen."""
    deadline = time.time() + timeout
    row = worker_row()
    while time.time() < deadline and row[1] != wanted:
        time.sleep(0.1)
        row = worker_row()
    return row


def break_sequencing():
    """Makes every sequencer round with events fail: positions must be negative."""
    query(DSN, "ALTER TABLE eventstore.log_positions "
               "ADD CONSTRAINT round_breaker CHECK (global_position < 0) NOT VALID")
    query(DSN, "SELECT eventstore.append('broken-1', 'Happened', '{}')")


def scenario_round_fails():
    failures = []
    pid_before = worker_pid()
    break_sequencing()
    pid, state, last_error, _ = wait_for_state("backing off after error")
    print("after a failing round: pid %s (before %s), state %r, last_error %r" % (pid, pid_before, state, last_error))
    if state != "backing off after error":
        failures.append("the worker does not show that it backs off")
    if pid != pid_before:
        failures.append("the worker process was replaced: the error was fatal")
    if not last_error or "round_breaker" not in last_error or not last_error.startswith("sequencer: "):
        failures.append("last_error does not name the job and the constraint: %r" % last_error)
    time.sleep(3)
    if worker_row()[0] != pid_before:
        failures.append("the worker process was replaced while backing off")
    query(DSN, "ALTER TABLE eventstore.log_positions DROP CONSTRAINT round_breaker")
    for n in range(20):
        query(DSN, "SELECT eventstore.append('after-1', 'Happened', %s::jsonb)", ('{"n": %d}' % n,))
    reached = query(DSN, "SELECT eventstore.wait_for_position(21, '60 seconds')")[0][0]
    count, maximum, distinct = query(DSN, "SELECT count(*), max(global_position), "
                                          "count(DISTINCT (stream_id, stream_version)) FROM eventstore.log_positions")[0]
    ok, detail = query(DSN, "SELECT ok, detail FROM eventstore.verify_all()")[0]
    state = wait_for_state("idle")[1]
    print("recovered: reached %s, positions %s (max %s, distinct events %s), state %r, verify_all %s"
          % (reached, count, maximum, distinct, state, detail))
    if not reached or count != 21 or maximum != 21 or distinct != 21 or not ok or state != "idle":
        failures.append("after the constraint was dropped the log is not sequenced exactly once")
    for failure in failures:
        print("PROBLEM:", failure)
    return 1 if failures else 0


def scenario_stop_while_backing_off():
    break_sequencing()
    state = wait_for_state("backing off after error")[1]
    # Let the backoff grow past the 2 s the stop is allowed.
    time.sleep(8)
    print("state before the stop: %r" % worker_row()[1])
    started = time.time()
    result = as_postgres("pg_ctl", "-D", os.path.join(CLUSTER_DIR, "data"), "-m", "fast", "-w", "stop")
    elapsed = time.time() - started
    print("pg_ctl stop -m fast: exit %d in %.2f s" % (result.returncode, elapsed))
    as_postgres("pg_ctl", "-D", os.path.join(CLUSTER_DIR, "data"), "-l", os.path.join(CLUSTER_DIR, "server.log"),
                "-w", "start")
    return 0 if state == "backing off after error" and result.returncode == 0 and elapsed < 2.0 else 1


def scenario_lock_held():
    failures = []
    holder = connect(DSN, time.time() + 10)
    holder.cursor().execute("LOCK TABLE eventstore.sequencer_lock IN EXCLUSIVE MODE")
    query(DSN, "SELECT eventstore.append('held-1', 'Happened', '{}')")
    pid, state, last_error, _ = wait_for_state("backing off after error", timeout=30)
    print("while the lock is held: state %r, last_error %r" % (state, last_error))
    if state != "backing off after error" or "lock timeout" not in (last_error or ""):
        failures.append("a job stuck behind a lock is not shown in worker_status")
    holder.rollback()
    holder.close()
    reached = query(DSN, "SELECT eventstore.wait_for_position(1, '60 seconds')")[0][0]
    print("after the lock was released: sequenced %s" % reached)
    if not reached:
        failures.append("sequencing did not resume after the lock was released")
    for failure in failures:
        print("PROBLEM:", failure)
    return 1 if failures else 0


SCENARIOS = {
    "round-fails": scenario_round_fails,
    "stop-while-backing-off": scenario_stop_while_backing_off,
    "lock-held": scenario_lock_held,
    "kill-worker": scenario_kill_worker,
    "immediate-stop": scenario_immediate_stop,
    "sighup": scenario_sighup,
    "failover": scenario_failover,
}

if __name__ == "__main__":
    sys.exit(SCENARIOS[sys.argv[1]]())
