# Sourced by the benchmark scripts: install the benchmark's peers from Debian and keep their distro
# services from running (they would take the ports and the CPU the benchmark measures).
# Usage: install_peers "SERVICE ..." PACKAGE ...   (nothing to do when no package is given)
install_peers() {
    local services=$1
    shift
    (($#)) || return 0
    local sudo=""
    [[ $(id -u) -eq 0 ]] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "$@"
    local svc
    if command -v systemctl >/dev/null && systemctl is-system-running >/dev/null 2>&1; then
        for svc in $services; do $sudo systemctl disable --now "$svc" 2>/dev/null || true; done
    else
        for svc in $services; do $sudo service "$svc" stop 2>/dev/null || true; done
    fi
}
