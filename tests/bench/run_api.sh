#!/usr/bin/env bash
# REST API benchmark over loopback HTTP with its own redis-server; extra args go to the script.
# Usage: tests/bench/run_api.sh [--zones N --records N --gets N --puts N --concurrency N]
set -euo pipefail
cd "$(dirname "$0")/../.."
exec "${PYTHON:-python3}" tests/bench/bench_api.py "$@"
