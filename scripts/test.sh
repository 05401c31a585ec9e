#!/usr/bin/env bash
# test.sh — `make test`: installs what is missing, builds with -Werror, and
# runs every suite: unit (CTest), pg_regress, isolation, pgTAP, end-to-end.
#
# Each suite's verdict is collected; the run ends with "N passed, N failed"
# and exits non-zero if any suite failed.  Run one suite alone with
#   scripts/test.sh unit|regress|isolation|pgtap|e2e
set -uo pipefail
source "$(dirname "$0")/common.sh"
cd "$PROJECT_ROOT"

suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(unit regress isolation pgtap e2e)

bash scripts/setup.sh || exit 1
say "build (warnings are errors)"
make -s -j2 WERROR=-Werror >/dev/null && make -s install >/dev/null || { echo "build failed"; exit 1; }

passed=0
failed=0
failed_names=()
record() {  # record NAME STATUS
    if [ "$2" -eq 0 ]; then
        passed=$((passed + 1)); echo "suite $1: ok"
    else
        failed=$((failed + 1)); failed_names+=("$1"); echo "suite $1: FAILED"
    fi
}

# The test inputs are copied to a directory the postgres user owns: the
# checkout may live where that user cannot read or write.  pg_regress's
# suites are in PGXS's layout (sql/, expected/); the isolation specs and
# their outputs in test/.
prepare_test_copy() {
    local dir
    dir=$(make_work_dir "$1")
    cp -r test sql expected regress.conf "$dir/"
    [ "$(id -u)" = 0 ] && chown -R postgres:postgres "$dir"
    echo "$dir"
}

run_unit() {
    say "unit tests (GoogleTest via CTest)"
    bash scripts/unit.sh
}

# run_pg_regress_driver SUITE DRIVER INPUTDIR TESTS...: PostgreSQL's
# regression driver (pg_regress or pg_isolation_regress) on a temporary
# instance with the worker preloaded; shows the differences when something
# fails.  INPUTDIR is relative to the project root.
run_pg_regress_driver() {
    local suite=$1 driver=$2 inputdir=$3
    shift 3
    local dir
    dir=$(prepare_test_copy "$suite")
    as_postgres "$driver" \
        --temp-instance="$dir/tmp_check" --temp-config="$dir/regress.conf" \
        --inputdir="$dir/$inputdir" --outputdir="$dir" --bindir="$PG_BINDIR" \
        --dbname=eventstore_regress "$@"
    local status=$?
    [ $status -eq 0 ] || cat "$dir/regression.diffs" 2>/dev/null | head -200
    return $status
}

run_regress() {
    say "pg_regress"
    # shellcheck disable=SC2046  # one test name per word
    run_pg_regress_driver regress "$PGXS_DIR/src/test/regress/pg_regress" . \
        $(sed -e 's/#.*//' regress_schedule | xargs)
}

run_isolation() {
    say "isolation specs"
    # shellcheck disable=SC2046
    run_pg_regress_driver isolation "$PGXS_DIR/src/test/isolation/pg_isolation_regress" test \
        $(cd test/specs && ls *.spec | sed 's/\.spec$//' | xargs)
}

run_pgtap() {
    say "pgTAP"
    bash scripts/with_cluster.sh pgtap bash -c 'pg_prove -h "$PGHOST" -p "$PGPORT" -U postgres -d "$PGDATABASE" test/pgtap/*.sql'
}

run_e2e() {
    say "end-to-end"
    local status=0 script
    for script in test/e2e/*.sh; do
        echo "-- $script"
        bash "$script" || { echo "e2e $script FAILED"; status=1; }
    done
    return $status
}

for suite in "${suites[@]}"; do
    "run_$suite"
    record "$suite" $?
done

echo
[ $failed -eq 0 ] || echo "failed suites: ${failed_names[*]}"
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
