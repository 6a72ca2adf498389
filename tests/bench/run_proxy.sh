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
if ((${#need[@]})); then
    SUDO=""
    [[ $(id -u) -eq 0 ]] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${need[@]}"
    # The packages may start their distro services (and take port 80): stop and disable them.
    if command -v systemctl >/dev/null && systemctl is-system-running >/dev/null 2>&1; then
        $SUDO systemctl disable --now nginx haproxy 2>/dev/null || true
    else
        for svc in nginx haproxy; do
            $SUDO service "$svc" stop 2>/dev/null || true
        done
    fi
fi
export PATH="$PATH:/usr/sbin"
exec "${PYTHON:-python3}" tests/bench/bench_proxy.py "$@"
