#!/usr/bin/env bash
# Forwarding benchmark: cache hits of gslb dns --forward vs Unbound and PowerDNS Recursor, one core each.
# Installs the peers (Debian packages) when missing and stops any service the packages started.
# Usage: tests/bench/run_forward.sh [--seconds 10 --servers gslb,unbound,recursor]
set -euo pipefail
cd "$(dirname "$0")/../.."

need=()
command -v dnsperf >/dev/null || need+=(dnsperf)
command -v unbound >/dev/null || need+=(unbound)
command -v pdns_recursor >/dev/null || need+=(pdns-recursor)
if ((${#need[@]})); then
    SUDO=""
    [[ $(id -u) -eq 0 ]] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${need[@]}"
    for svc in unbound pdns-recursor; do
        $SUDO service "$svc" stop 2>/dev/null || true
    done
fi

exec "${PYTHON:-python3}" tests/bench/bench_forward.py "$@"
