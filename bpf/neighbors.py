"""Next-hop MAC addresses and interface addresses, asked of the kernel with iproute2's JSON output.

The forwarder rewrites Ethernet headers itself, so it needs the MAC of each real's next hop: the
real itself on the same subnet, else the gateway `ip route get` names. An unknown neighbour is
provoked by sending it one empty UDP datagram (the kernel then resolves it by ARP or NDP) and looked up
again on the next sync.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import subprocess
import time
from collections.abc import Iterable
from typing import Any

from bpf.packets import mac_bytes

log = logging.getLogger(__name__)

_USABLE = {"REACHABLE", "STALE", "DELAY", "PROBE", "PERMANENT", "NOARP"}


def _ip_json(*args: str) -> list[dict[str, Any]]:
    result = subprocess.run(["ip", "-j", *args], capture_output=True, text=True, timeout=5, check=False)
    if result.returncode != 0:
        return []
    text = result.stdout.strip()
    return list(json.loads(text)) if text else []


def next_hop(address: str) -> tuple[str, str] | None:
    """(next-hop address, device) the kernel would use to reach `address`."""
    routes = _ip_json("route", "get", address)
    if not routes:
        return None
    route = routes[0]
    return str(route.get("gateway", address)), str(route.get("dev", ""))


def _known_mac(gateway: str, device: str) -> bytes | None:
    for entry in _ip_json("neigh", "show", "to", gateway, "dev", device):
        states = set(entry.get("state", []))
        if entry.get("lladdr") and states & _USABLE:
            return mac_bytes(str(entry["lladdr"]))
    return None


def lookup_macs(addresses: Iterable[str], *, wait: float = 0.5) -> dict[str, bytes]:
    """Next-hop MACs of `addresses` (those found). Unknown neighbours are resolved by ARP/NDP, all at
    once, waiting up to `wait` seconds in total; the caller asks again later for the rest."""
    hops: dict[str, tuple[str, str]] = {}
    for address in addresses:
        hop = next_hop(address)
        if hop is not None:
            hops[address] = hop
    found = {address: mac for address, hop in hops.items() if (mac := _known_mac(*hop)) is not None}
    deadline = time.monotonic() + wait
    while True:
        missing = [address for address in hops if address not in found]
        for address in missing:
            _provoke(hops[address][0])
        if not missing or time.monotonic() >= deadline:
            return found
        time.sleep(0.02)
        for address in missing:
            mac = _known_mac(*hops[address])
            if mac is not None:
                found[address] = mac


def _provoke(address: str) -> None:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with contextlib.suppress(OSError), socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        sock.sendto(b"", (address, 9))  # discard port; what matters is the ARP request it causes


def interface_address(device: str, family: int) -> str | None:
    """The first IPv4 (family 4) or global IPv6 (family 6) address of `device`."""
    for link in _ip_json(f"-{family}", "addr", "show", "dev", device):
        for info in link.get("addr_info", []):
            if family == 6 and info.get("scope") != "global":
                continue  # link-local sources cannot reach reals beyond the link
            if info.get("family") == ("inet" if family == 4 else "inet6"):
                return str(info["local"])
    return None


def link_kind(device: str) -> str | None:
    """The kind of a virtual link ("veth", "bridge", ...), None for physical or unknown ones."""
    for link in _ip_json("-d", "link", "show", "dev", device):
        kind = link.get("linkinfo", {}).get("info_kind")
        return str(kind) if kind else None
    return None
