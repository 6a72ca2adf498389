#!/usr/bin/env bash
# Make BCC (Debian's python3-bpfcc) usable by the project's Python on a machine without headers for
# the running kernel. Idempotent; run as root (CI is root). Used by scripts/test.sh and `gslb l4` users.
#
# What it does, and why:
#  1. apt installs python3-bpfcc (the real BCC; the PyPI package named "bcc" is an unrelated maths
#     library) and linux-headers-amd64 (Debian's current kernel headers).
#  2. BCC compiles the XDP C at load time against /lib/modules/$(uname -r)/build. When the running
#     kernel has no headers package (a cloud or custom kernel), we point build -> the Debian
#     "-amd64" tree and source -> the "-common" tree. XDP programs only use stable UAPI headers
#     (linux/bpf.h, if_ether.h, ip.h, ...), so a nearby version is fine.
#  3. BCC lives in Debian's /usr/lib/python3/dist-packages, which the project's Python (pyenv,
#     a venv, ...) does not see. We expose *only* the bcc package: a directory holding one symlink
#     bcc -> the Debian package, added to the project's Python with a .pth file. Adding the whole
#     dist-packages directory would shadow pip-installed packages with Debian's older copies.
# Usage: scripts/setup_bcc.sh [python]   (default: $PYTHON or python3)
set -euo pipefail

PYTHON="${1:-${PYTHON:-python3}}"
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

debs=(python3-bpfcc linux-headers-amd64 iproute2 ethtool)
missing=()
for deb in "${debs[@]}"; do
  dpkg -s "$deb" >/dev/null 2>&1 || missing+=("$deb")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup_bcc: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# 2. kernel build tree for the running kernel
modules="/lib/modules/$(uname -r)"
if [ ! -e "$modules/build/include/generated/uapi/linux/version.h" ] && [ -z "${BCC_KERNEL_SOURCE:-}" ]; then
  amd64_tree="$(ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | sort -V | tail -n1)"
  common_tree="$(ls -d /usr/src/linux-headers-*-common 2>/dev/null | sort -V | tail -n1)"
  if [ -z "$amd64_tree" ] || [ -z "$common_tree" ]; then
    echo "setup_bcc: no Debian kernel headers under /usr/src; install linux-headers-amd64" >&2
    exit 1
  fi
  echo "setup_bcc: $modules/build -> $amd64_tree, source -> $common_tree"
  $SUDO mkdir -p "$modules"
  $SUDO ln -sfn "$amd64_tree" "$modules/build"
  $SUDO ln -sfn "$common_tree" "$modules/source"
fi

# 3. expose only the bcc package to the project's Python
if ! "$PYTHON" -c 'import bcc, sys; sys.exit(0 if hasattr(bcc, "BPF") else 1)' 2>/dev/null; then
  debian_bcc="$(/usr/bin/python3 -c 'import bcc, os; print(os.path.dirname(bcc.__file__))')"
  shim=/usr/local/lib/gslb-bcc-shim
  $SUDO mkdir -p "$shim"
  $SUDO ln -sfn "$debian_bcc" "$shim/bcc"
  site="$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  echo "$shim" | $SUDO tee "$site/gslb-bcc.pth" >/dev/null
  echo "setup_bcc: $site/gslb-bcc.pth exposes $debian_bcc"
  "$PYTHON" -c 'import bcc; bcc.BPF' || {
    echo "setup_bcc: $PYTHON still cannot import bcc.BPF (is the PyPI 'bcc' maths package installed? pip uninstall bcc)" >&2
    exit 1
  }
fi
echo "setup_bcc: ok"
