"""cluster_control.py — what the end-to-end scripts do to the throwaway
cluster scripts/with_cluster.sh started: run SQL, find the worker, run
PostgreSQL's programs as the postgres user, crash and restart the server.

The environment comes from with_cluster.sh (PGHOST, PGPORT, PGDATABASE,
CLUSTER_DIR).  Run with Debian's /usr/bin/python3 (it has psycopg2).
"""
import os
import subprocess
import time

from eventstore_load import connect

PG_BINDIR = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True).stdout.strip()
CLUSTER_DIR = os.environ["CLUSTER_DIR"]
DSN = "host=%s port=%s dbname=%s user=postgres" % (
    os.environ["PGHOST"], os.environ["PGPORT"], os.environ["PGDATABASE"])


def as_postgres(*command):
    """Runs a PostgreSQL program (pg_ctl, pg_basebackup, ...) as postgres."""
    prefix = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
    return subprocess.run(prefix + [os.path.join(PG_BINDIR, command[0])] + list(command[1:]),
                          capture_output=True, text=True)


def query(dsn, sql, params=None):
    """One statement in autocommit; its rows, or None for a statement without."""
    connection = connect(dsn, time.time() + 60)
    connection.autocommit = True
    cursor = connection.cursor()
    cursor.execute(sql, params)
    rows = cursor.fetchall() if cursor.description else None
    connection.close()
    return rows


def worker_pid(dsn=DSN, timeout=30, job="sequencer"):
    """The pid of a running job of the worker family, waiting for it to (re)start."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        rows = query(dsn, "SELECT pid FROM eventstore.worker_status WHERE job = %s", (job,))
        if rows[0][0]:
            return rows[0][0]
        time.sleep(0.2)
    raise AssertionError("the %s did not start within %d s" % (job, timeout))


def restart_immediately():
    """`pg_ctl stop -m immediate` (a crash: no shutdown checkpoint), then start."""
    data = os.path.join(CLUSTER_DIR, "data")
    result = as_postgres("pg_ctl", "-D", data, "-m", "immediate", "-w", "stop")
    print("pg_ctl stop -m immediate:", result.returncode, result.stdout.strip(), flush=True)
    time.sleep(1)
    result = as_postgres("pg_ctl", "-D", data, "-l", os.path.join(CLUSTER_DIR, "server.log"), "-w", "start")
    print("pg_ctl start:", result.returncode, result.stdout.strip(), flush=True)
