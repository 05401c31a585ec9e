#!/usr/bin/env bash
# docs_examples.sh — the documentation's examples are tests: runs every ```sql
# (and ```python) block of README.md and docs/*.md, in order, against a fresh
# cluster, and checks each documented output and each documented error
# (`-- expect: ERROR <SQLSTATE>`).  The rules are in docs_examples.py.
#
#   bash test/e2e/docs_examples.sh [--print] [FILE.md ...]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
exec bash "$root/scripts/with_cluster.sh" e2e-docs \
    /usr/bin/python3 "$root/test/e2e/docs_examples.py" "$@"
