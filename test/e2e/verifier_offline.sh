#!/usr/bin/env bash
# verifier_offline.sh — end-to-end check of pg_eventstore_verify, the offline
# verifier, against an independent Python implementation of everything the
# database exports (test/e2e/verifier_offline.py: hashlib, struct and
# python3-cryptography; no repository code, no database).
#
# The untouched log must verify (exit 0) with the two keys of a rotation;
# each tampering — an event changed, a history rewritten with every hash
# recomputed, a forged stream spliced in, the tail cut, a checkpoint
# altered, missing or changed in the database, signed by an unknown key,
# unsigned — must fail (exit 1) with the FAIL line naming the right
# position or checkpoint.  Takes a few seconds.
#
# Run from anywhere, as root or not: bash test/e2e/verifier_offline.sh
# Exits non-zero on any unexpected result.
set -uo pipefail
source "$(dirname "$0")/../../scripts/common.sh"
cd "$PROJECT_ROOT"

# Built by `make` already when run from scripts/test.sh; this only catches
# up a checkout where it was not.
make -s tools/pg_eventstore_verify >/dev/null || { echo "verifier_offline.sh: build failed"; exit 1; }

# /usr/bin/python3 explicitly: Debian's interpreter, with python3-cryptography.
timeout 120 /usr/bin/python3 -u test/e2e/verifier_offline.py check "$PROJECT_ROOT/tools/pg_eventstore_verify"
status=$?
[ $status -eq 0 ] || echo "verifier_offline.sh: FAILED (exit status $status)"
exit $status
