#!/usr/bin/env bash
# setup.sh — installs everything pg_eventstore needs from Debian packages.
#
# Idempotent and fast when all is present: it asks dpkg which packages are
# missing and only then runs apt-get (update once, then install by name).
set -euo pipefail

PACKAGES=(
    g++ make cmake pkg-config
    postgresql-15 postgresql-server-dev-15
    libssl-dev librdkafka-dev
    libgtest-dev
    postgresql-15-pgtap libtap-parser-sourcehandler-pgtap-perl
    python3 python3-psycopg2
    openssl python3-cryptography   # checkpoint signing keys, and the verifier tests' independent Ed25519
    kcat gnuplot-nox
    postgresql-15-pgq3   # PgQ, the queue the Kafka publisher bench compares against
    prometheus-postgres-exporter curl   # the monitoring test scrapes the real exporter
)
# Node.js and npm for test/e2e/kafkajs_consumer.sh, from Debian only when
# none is on PATH: a node installed otherwise (NodeSource, nvm) serves as
# well, and NodeSource's nodejs package conflicts with Debian's npm.
command -v node >/dev/null || PACKAGES+=(nodejs)
command -v npm >/dev/null || PACKAGES+=(npm)

missing=()
for package in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || missing+=("$package")
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "setup: all dependencies present"
    exit 0
fi

if [ "$(id -u)" != 0 ]; then
    echo "setup: missing packages: ${missing[*]} (run as root to install them)" >&2
    exit 1
fi

echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
