"""bpf/c/decap.c (what `gslb l4 decap` attaches) through BPF_PROG_TEST_RUN: all four tunnel shapes."""

from __future__ import annotations

import struct
from collections.abc import Iterator

import pytest
from xdp_helpers import needs_root

from bpf.packets import (
    ETH_P_IP,
    ETH_P_IPV6,
    IPPROTO_IPIP,
    IPPROTO_IPV6,
    IPPROTO_UDP,
    ethernet,
    ipv4,
    ipv6,
    udp,
)
from bpf.testrun import XDP_PASS, test_run

pytestmark = needs_root

ETH = ethernet("02:00:00:00:00:11", "02:00:00:00:00:02")[:12]
INNER4 = ipv4("192.0.2.10", "10.100.0.1", IPPROTO_UDP, udp("192.0.2.10", "10.100.0.1", 40000, 53, b"q"))
INNER6 = ipv6(
    "2001:db8:c::10", "2001:db8:100::1", IPPROTO_UDP, udp("2001:db8:c::10", "2001:db8:100::1", 4, 53)
)


@pytest.fixture(scope="module")
def decap(bcc_ready: None) -> Iterator[object]:
    from bpf.loader import C_DIR, LoadedProgram

    program = LoadedProgram(source=C_DIR / "decap.c")
    yield program
    program.close()


def _frame(ethertype: int, packet: bytes) -> bytes:
    return ETH + struct.pack("!H", ethertype) + packet


@pytest.mark.parametrize(
    ("outer_ethertype", "outer", "inner_ethertype", "inner"),
    [
        (ETH_P_IP, ipv4("10.0.0.2", "10.0.0.11", IPPROTO_IPIP, INNER4), ETH_P_IP, INNER4),
        (ETH_P_IP, ipv4("10.0.0.2", "10.0.0.11", IPPROTO_IPV6, INNER6), ETH_P_IPV6, INNER6),
        (ETH_P_IPV6, ipv6("2001:db8::2", "2001:db8::21", IPPROTO_IPIP, INNER4), ETH_P_IP, INNER4),
        (ETH_P_IPV6, ipv6("2001:db8::2", "2001:db8::21", IPPROTO_IPV6, INNER6), ETH_P_IPV6, INNER6),
    ],
    ids=["4in4", "6in4", "4in6", "6in6"],
)
def test_tunnels_are_stripped(
    decap, outer_ethertype: int, outer: bytes, inner_ethertype: int, inner: bytes
) -> None:  # type: ignore[no-untyped-def]
    result = test_run(decap.fd, _frame(outer_ethertype, outer))
    assert result.verdict == XDP_PASS
    assert result.output == _frame(inner_ethertype, inner)


@pytest.mark.parametrize(
    "frame", [_frame(ETH_P_IP, INNER4), _frame(ETH_P_IPV6, INNER6), _frame(0x0806, bytes(28))]
)
def test_other_traffic_passes_untouched(decap, frame: bytes) -> None:  # type: ignore[no-untyped-def]
    result = test_run(decap.fd, frame)
    assert (result.verdict, result.output) == (XDP_PASS, frame)
