#!/usr/bin/env bash
# bench.sh — `make bench`: installs what is missing, builds and installs the
# extension, runs every benchmark scenario against its baseline, and reports.
#
#   scripts/bench.sh              every scenario in bench/scenarios/
#   scripts/bench.sh NAME...      only those (e.g. append_single verify_all)
#   BENCH_SECONDS=N               seconds per measured pgbench run (default 15)
#   BENCH_ROUNDS=N                ours/baseline pairs per comparison (default 2)
#
# Each scenario runs on its own throwaway cluster (scripts/with_cluster.sh)
# with the bench settings below plus what the scenario asks for.  The table
# goes to the terminal and to bench/results/latest.md, the plot to
# bench/results/latest.png (docs/performance.md explains both).  A missed
# target is reported and is not a failure; the exit status is non-zero only
# when a scenario broke.
set -uo pipefail
source "$(dirname "$0")/common.sh"
cd "$PROJECT_ROOT"
export PATH="$PG_BINDIR:$PATH"   # pgbench
PYTHON=/usr/bin/python3
RESULTS=bench/results
RAW=$RESULTS/raw      # one JSON per scenario (kept between runs, not committed)
LOGS=$RESULTS/logs    # pgbench outputs of the last run of each scenario

# The same for every scenario.  Durable commits as in production (fsync and
# synchronous_commit stay on).  Memory and WAL sized so that no checkpoint
# or buffer eviction lands inside a measured run; each run starts after an
# explicit CHECKPOINT instead.
BENCH_CONF="shared_buffers=512MB max_wal_size=8GB min_wal_size=1GB checkpoint_timeout=30min"

started=$(date +%s)
bash scripts/setup.sh || exit 1
say "build (warnings are errors)"
make -s -j2 WERROR=-Werror >/dev/null && make -s install >/dev/null || { echo "build failed"; exit 1; }

scenarios=("$@")
if [ ${#scenarios[@]} -eq 0 ]; then
    mapfile -t scenarios < <($PYTHON bench/runner.py list)
    rm -rf "$RAW"   # a full run replaces every figure
fi
for name in "${scenarios[@]}"; do     # unknown names stop the run before any work
    $PYTHON bench/runner.py conf "$name" >/dev/null || exit 2
done
mkdir -p "$RAW" "$LOGS"

broken=()
for name in "${scenarios[@]}"; do
    say "bench $name"
    rm -rf "${LOGS:?}/$name" "$RAW/$name.json"
    CLUSTER_CONF="$BENCH_CONF $($PYTHON bench/runner.py conf "$name")" \
        bash scripts/with_cluster.sh "bench-$name" \
        $PYTHON bench/runner.py run "$name" "$RAW/$name.json" "$LOGS" || broken+=("$name")
done

say "report"
$PYTHON bench/report.py "$RAW" "$RESULTS/latest.md" "$RESULTS/plot" $(( $(date +%s) - started )) \
    "${broken[@]}" || broken+=(report)
gnuplot -e "data='$RESULTS/plot'; output='$RESULTS/latest.png'" bench/plot.gp || broken+=(plot)

echo
if [ ${#broken[@]} -gt 0 ]; then
    echo "broken: ${broken[*]}"
    exit 1
fi
echo "bench finished in $(( $(date +%s) - started )) s; see $RESULTS/latest.md"
