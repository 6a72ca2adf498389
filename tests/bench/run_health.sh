#!/usr/bin/env bash
# Health-check throughput: HTTP checks per second on one core against a local backend (another core).
# Usage: tests/bench/run_health.sh [--seconds S --targets N --in-flight N --aiohttp]
set -euo pipefail
cd "$(dirname "$0")/../.."
exec "${PYTHON:-python3}" tests/bench/bench_health.py "$@"
