#!/usr/bin/env bash
# Install everything the test suite needs on a fresh Debian machine, then run lint and all tests.
# Usage: ./scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

# Debian packages the tests start for real (redis-server for the store tests).
debs=(redis-server)
missing=()
for deb in "${debs[@]}"; do
  dpkg -s "$deb" >/dev/null 2>&1 || missing+=("$deb")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# The tests start their own redis-server on free loopback ports; the distro's service is not needed.

# BCC for the XDP forwarder tests (tests/bpf): Debian python3-bpfcc, kernel headers and a build tree
# link for the running kernel, and the bcc module exposed to $PYTHON. See scripts/setup_bcc.sh.
./scripts/setup_bcc.sh "$PYTHON"

"$PYTHON" -m pip install -q -e '.[test]'

echo "== ruff";          "$PYTHON" -m ruff check .
echo "== ruff format";   "$PYTHON" -m ruff format --check .
echo "== import rules";  lint-imports
echo "== mypy";          "$PYTHON" -m mypy gslb health anycast proxy bpf geodata
echo "== pytest";        "$PYTHON" -m pytest -q "$@"
