#!/usr/bin/env bash
# hash_chain.sh — end-to-end check of the per-stream hash chain against an
# independent implementation.
#
# Starts a throwaway cluster (scripts/with_cluster.sh e2e-hash), appends a
# varied set of streams through eventstore.append/append_batch, and has
# test/e2e/hash_chain_check.py recompute every event's hash in Python
# (hashlib + struct, from the canonical v1 encoding; it never calls
# eventstore.event_hash) and compare it byte for byte with events.hash and
# streams.head_hash.  Also checks the documented test vector and self-tests
# the checker (a flipped byte must be reported at its version).
#
# Run from anywhere, as root or the postgres user: bash test/e2e/hash_chain.sh
# Exits non-zero, printing what differed, on any mismatch.
set -uo pipefail
cd "$(dirname "$0")/../.."

# /usr/bin/python3 explicitly: it is the interpreter with psycopg2.
timeout 120 bash scripts/with_cluster.sh e2e-hash /usr/bin/python3 -u test/e2e/hash_chain_check.py
status=$?
[ $status -eq 0 ] || echo "hash_chain.sh: FAILED (exit status $status)"
exit $status
