#!/usr/bin/env bash
# Install everything the test suite needs on a fresh Debian machine, then run lint and all tests.
# Usage: ./scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

# Debian packages the tests start for real: redis-server (store tests), nsd (a secondary
# transferring zones from gslb), bird2 (the BGP router of the anycast tests), iproute2 (netns),
# systemd (systemd-analyze, which checks the units in deploy/systemd), openssl (the self-signed
# certificate of the HTTPS health-check test).
debs=(redis-server nsd bird2 iproute2 systemd openssl)
missing=()
for deb in "${debs[@]}"; do
  dpkg -s "$deb" >/dev/null 2>&1 || missing+=("$deb")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
  # Installing nsd starts its distro service on port 53 of every interface; the tests run their
  # own nsd on a loopback port, so stop the service we just caused to run.
  if [[ " ${missing[*]} " == *" nsd "* ]] && command -v systemctl >/dev/null 2>&1; then
    $SUDO systemctl disable --now nsd.service >/dev/null 2>&1 || true
  fi
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
