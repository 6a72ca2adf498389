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
source tests/bench/peers.sh
install_peers "unbound pdns-recursor" "${need[@]}"

exec "${PYTHON:-python3}" tests/bench/bench_forward.py "$@"
