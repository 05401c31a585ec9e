# common.sh — shared helpers for the project's scripts (sourced, not run).
#
# PostgreSQL refuses to run initdb/pg_ctl as root, so everything that touches
# a cluster goes through as_postgres, which drops to the `postgres` system user
# when invoked as root and runs directly otherwise.

PROJECT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PG_BINDIR="$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)"
PGXS_DIR="$(pg_config --pkglibdir 2>/dev/null || echo /usr/lib/postgresql/15/lib)/pgxs"
# Work area for clusters and test output, writable by the postgres user.
WORK_ROOT="${PG_EVENTSTORE_WORK:-/tmp/pg_eventstore}"

as_postgres() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- env PATH="$PG_BINDIR:$PATH" "$@"
    else
        env PATH="$PG_BINDIR:$PATH" "$@"
    fi
}

# make_work_dir NAME -> prints a fresh directory owned by the cluster user
make_work_dir() {
    local dir="$WORK_ROOT/$1"
    mkdir -p "$WORK_ROOT"
    chmod 777 "$WORK_ROOT" 2>/dev/null || true
    rm -rf "$dir"
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
    echo "$dir"
}

say() { printf '\n== %s\n' "$*"; }
