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
if ((${#need[@]})); then
    SUDO=""
    [[ $(id -u) -eq 0 ]] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${need[@]}"
    # The packages may start their distro services (and take port 53): stop and disable them.
    if command -v systemctl >/dev/null && systemctl is-system-running >/dev/null 2>&1; then
        $SUDO systemctl disable --now gdnsd pdns 2>/dev/null || true
    else
        for svc in gdnsd pdns; do
            $SUDO service "$svc" stop 2>/dev/null || true
        done
    fi
fi

exec "${PYTHON:-python3}" tests/bench/bench_dns.py "$@"
