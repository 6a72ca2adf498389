#!/usr/bin/env bash
# XDP L4 forwarder vs IPVS benchmark (root). Installs the bench-only Debian packages (ipvsadm, and
# netsniff-ng for trafgen, the traffic generator), sets BCC up, then runs tests/bench/bench_l4.py.
# Usage: sudo tests/bench/run_l4.sh [--seconds 5] [--flows 1024] [--repeat 1000000]
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON="${PYTHON:-python3}"
debs=(ipvsadm netsniff-ng redis-server)
missing=()
for deb in "${debs[@]}"; do dpkg -s "$deb" >/dev/null 2>&1 || missing+=("$deb"); done
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
./scripts/setup_bcc.sh "$PYTHON"
PYTHONPATH="$PWD" exec "$PYTHON" tests/bench/bench_l4.py "$@"
