#!/usr/bin/env bash
# unit.sh — `make unit`: build the CMake tree and run the GoogleTest units
# (src/core, no PostgreSQL server needed) plus the compile-time wall checks.
#
# The build directory is build/ at the repository root and is kept between
# runs, so a rebuild only recompiles what changed.  The CMake build also
# compiles the extension module when pg_config is available, which keeps the
# CMake target as warning-free (-Werror) as the PGXS build.  Works from any
# directory, as root or not: nothing here starts PostgreSQL.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Without postgresql-server-dev the units still run; only the module is skipped.
module=ON
command -v "${PG_CONFIG:-pg_config}" >/dev/null 2>&1 || module=OFF

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEVENTSTORE_BUILD_MODULE="$module" \
    ${PG_CONFIG:+-DPG_CONFIG="$PG_CONFIG"} >/dev/null
cmake --build build -j2
ctest --test-dir build --output-on-failure
