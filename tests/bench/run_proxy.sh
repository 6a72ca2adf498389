#!/usr/bin/env bash
# L7 proxy benchmark: gslb proxy vs nginx vs HAProxy, proxies on core 1, wrk + backend on core 0.
# Installs the peers (Debian packages) when missing and stops any service the packages started.
# Usage: tests/bench/run_proxy.sh [--seconds 10 --connections 64 --proxies gslb,nginx,haproxy]
set -euo pipefail
cd "$(dirname "$0")/../.."

need=()
command -v wrk >/dev/null || need+=(wrk)
[[ -x /usr/sbin/nginx ]] || command -v nginx >/dev/null || need+=(nginx-light)
[[ -x /usr/sbin/haproxy ]] || command -v haproxy >/dev/null || need+=(haproxy)
source tests/bench/peers.sh
install_peers "nginx haproxy" "${need[@]}"
export PATH="$PATH:/usr/sbin"
exec "${PYTHON:-python3}" tests/bench/bench_proxy.py "$@"
