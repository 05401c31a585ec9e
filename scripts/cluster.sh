#!/usr/bin/env bash
# cluster.sh — start or stop a throwaway PostgreSQL cluster with pg_eventstore
# preloaded, running as the `postgres` user.
#
#   scripts/cluster.sh start DIR PORT DATABASE [extra postgresql.conf lines...]
#   scripts/cluster.sh stop DIR [mode]
#
# The cluster listens on 127.0.0.1:PORT and on a socket in DIR; the worker
# serves DATABASE (which start creates, with the extension in it).
set -euo pipefail
source "$(dirname "$0")/common.sh"

command=${1:?usage: cluster.sh start|stop DIR ...}
dir=${2:?data directory parent}

case "$command" in
start)
    port=${3:?port}
    database=${4:?database}
    shift 4
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
    as_postgres initdb -D "$dir/data" -A trust -U postgres --no-sync -E UTF8 --locale=C >"$dir/initdb.log"
    {
        echo "port = $port"
        echo "listen_addresses = '127.0.0.1'"
        echo "unix_socket_directories = '$dir'"
        echo "shared_preload_libraries = 'pg_eventstore'"
        echo "pg_eventstore.database = '$database'"
        echo "fsync = on"
        echo "max_connections = 100"
        echo "log_line_prefix = '%m [%p] %q%a '"
        for line in "$@"; do echo "$line"; done
    } | as_postgres tee -a "$dir/data/postgresql.conf" >/dev/null
    as_postgres pg_ctl -D "$dir/data" -l "$dir/server.log" -w start >/dev/null
    as_postgres psql -h "$dir" -p "$port" -U postgres -d postgres -qAt \
        -c "CREATE DATABASE \"$database\"" >/dev/null
    as_postgres psql -h "$dir" -p "$port" -U postgres -d "$database" -qAt \
        -c "CREATE EXTENSION pg_eventstore" >/dev/null
    # The worker's first start found no database yet and it is restarted a
    # few seconds later; return only once it runs, so that whatever the
    # caller does next (a load, a crash) happens with the worker at work.
    for _ in $(seq 1 150); do
        pid=$(as_postgres psql -h "$dir" -p "$port" -U postgres -d "$database" -qAt \
            -c "SELECT pid FROM eventstore.worker_status WHERE job = 'sequencer' AND state <> 'waiting for extension'")
        [ -n "$pid" ] && break
        sleep 0.1
    done
    [ -n "$pid" ] || { echo "cluster.sh: the worker did not start within 15 s" >&2; exit 1; }
    ;;
stop)
    mode=${3:-fast}
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_postgres pg_ctl -D "$dir/data" -m "$mode" -w stop >/dev/null || true
    fi
    ;;
*)
    echo "usage: cluster.sh start|stop DIR ..." >&2
    exit 2
    ;;
esac
