#!/usr/bin/env bash
# DNS benchmark: gslb dns vs gdnsd vs PowerDNS, servers on core 1, dnsperf on core 0, ~2 minutes.
# Installs the peers (Debian packages) when missing and stops any service the packages started.
# Usage: tests/bench/run_dns.sh [--seconds 10 --servers gslb,gdnsd,pdns]
set -euo pipefail
cd "$(dirname "$0")/../.."

need=()
command -v dnsperf >/dev/null || need+=(dnsperf)
command -v gdnsd >/dev/null || need+=(gdnsd)
command -v pdns_server >/dev/null || need+=(pdns-server)
for pkg in pdns-backend-bind pdns-backend-geoip; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
source tests/bench/peers.sh
install_peers "gdnsd pdns" "${need[@]}"

exec "${PYTHON:-python3}" tests/bench/bench_dns.py "$@"
