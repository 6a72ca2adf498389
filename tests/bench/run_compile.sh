#!/usr/bin/env bash
# Compile benchmark: 100,000 record sets in 1,000 zones by default; extra args go to the script.
# Usage: tests/bench/run_compile.sh [--records N --zones N --dynamic SHARE --no-memory]
set -euo pipefail
cd "$(dirname "$0")/../.."
exec "${PYTHON:-python3}" tests/bench/bench_compile.py "$@"
