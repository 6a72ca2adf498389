#!/usr/bin/env bash
# Zone transfer benchmark: render time of a signed AXFR of a large zone, and the longest step.
# Usage: tests/bench/run_xfr.sh [--records N --dynamic SHARE]
set -euo pipefail
cd "$(dirname "$0")/../.."
exec "${PYTHON:-python3}" tests/bench/bench_xfr.py "$@"
