"""Interop with a real secondary: NSD transfers a zone from `gslb dns` with TSIG, serves it, and
picks up a change within seconds of the NOTIFY (its SOA refresh is an hour, so only NOTIFY can
explain it)."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from gslb.policy import parse_document
from tests.conftest import free_port
from tests.dns.xfr_support import (
    SECRETS,
    ZONE,
    key_file,
    policy_store_with,
    policy_yaml,
    soa_serial,
    start_gslb_dns,
    stop_gslb_dns,
)

NSD = shutil.which("nsd") or ("/usr/sbin/nsd" if Path("/usr/sbin/nsd").exists() else None)
pytestmark = pytest.mark.skipif(
    NSD is None, reason="nsd is not installed (Debian package nsd; scripts/test.sh installs it)"
)


def nsd_conf(directory: Path, port: int, primary_port: int) -> Path:
    conf = directory / "nsd.conf"
    conf.write_text(
        f"""
server:
    ip-address: 127.0.0.1
    port: {port}
    username: ""
    chroot: ""
    zonesdir: "{directory}"
    pidfile: "{directory}/nsd.pid"
    database: ""
    zonelistfile: "{directory}/zone.list"
    xfrdfile: "{directory}/xfrd.state"
    xfrdir: "{directory}/xfr"
    logfile: "{directory}/nsd.log"
    verbosity: 2
    server-count: 1
    do-ip6: no
    xfrd-reload-timeout: 0
remote-control:
    control-enable: no
key:
    name: xfr-key
    algorithm: hmac-sha256
    secret: "{SECRETS["xfr-key"]}"
zone:
    name: {ZONE}
    zonefile: "xfr.example.zone"
    allow-notify: 127.0.0.1 xfr-key
    request-xfr: AXFR 127.0.0.1@{primary_port} xfr-key
"""
    )
    (directory / "xfr").mkdir(exist_ok=True)
    return conf


def ask(port: int, name: str, rdtype: str = "A") -> dns.message.Message:
    query = dns.message.make_query(name, rdtype)
    query.flags &= ~dns.flags.RD
    return dns.query.udp(query, "127.0.0.1", port=port, timeout=0.5)


def texts(response: dns.message.Message) -> set[str]:
    return {item.to_text() for rrset in response.answer for item in rrset}


def served_serial(port: int) -> int | None:
    """The zone's serial as NSD serves it; None while it has no copy yet (SERVFAIL)."""
    response = ask(port, ZONE, "SOA")
    return int(response.answer[0][0].serial) if response.rcode() == dns.rcode.NOERROR else None


def wait_until(predicate: Any, timeout: float, what: str, log: Path) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if predicate():
                return time.monotonic() - started
        except (dns.exception.Timeout, OSError):
            pass
        time.sleep(0.05)
    raise AssertionError(f"{what} within {timeout}s; NSD log:\n{log.read_text() if log.exists() else ''}")


@pytest.fixture
async def primary_and_nsd(redis_server: Any, tmp_path: Path) -> Iterator[Any]:
    nsd_port = free_port()
    policy_store, store, prefix = await policy_store_with(
        redis_server.url, policy_yaml([f"127.0.0.1:{nsd_port}"])
    )
    gslb, gslb_port = start_gslb_dns(redis_server.url, prefix, key_file(tmp_path / "keys.conf"))
    nsd: subprocess.Popen[str] | None = None
    try:  # from here on gslb runs: whatever fails next, it is stopped
        nsd_dir = tmp_path / "nsd"
        nsd_dir.mkdir()
        assert NSD is not None
        nsd = subprocess.Popen(
            [NSD, "-d", "-c", str(nsd_conf(nsd_dir, nsd_port, gslb_port))],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        yield gslb_port, nsd_port, policy_store, nsd_dir / "nsd.log"
    finally:
        if nsd is not None:
            nsd.terminate()
            try:
                nsd.wait(timeout=5)
            except subprocess.TimeoutExpired:
                nsd.kill()
                nsd.wait(timeout=5)
        try:
            stop_gslb_dns(gslb)
        finally:
            await store.close()


async def test_nsd_transfers_the_zone_and_follows_changes_after_notify(primary_and_nsd: Any) -> None:
    gslb_port, nsd_port, policy_store, log = primary_and_nsd
    serial = soa_serial(gslb_port)
    took = wait_until(lambda: served_serial(nsd_port) == serial, 5, "NSD never transferred the zone", log)
    print(f"NSD start -> zone transferred and served: {took * 1000:.0f} ms")
    assert "TSIG verified with key xfr-key" in log.read_text()

    www = ask(nsd_port, "www.xfr.example.")
    assert www.flags & dns.flags.AA
    assert texts(www) == {"192.0.2.10", "192.0.2.12"}, "the fail-open set of the dynamic name"
    assert texts(ask(nsd_port, "app.xfr.example.")) == {"192.0.2.99"}
    assert texts(ask(nsd_port, "cdn.xfr.example.", "CNAME")) == {"b.cdn.example.net."}
    assert texts(ask(nsd_port, "xfr.example.", "MX")) == {"10 mail.xfr.example."}
    assert texts(ask(nsd_port, "anything.wild.xfr.example.", "TXT")) == {'"wildcard"'}
    referral = ask(nsd_port, "host.sub.xfr.example.")
    assert not referral.answer and not referral.flags & dns.flags.AA
    assert {item.to_text() for rrset in referral.authority for item in rrset} == {"ns.sub.xfr.example."}
    assert {item.to_text() for rrset in referral.additional for item in rrset} == {"192.0.2.77"}
    assert ask(nsd_port, "missing.xfr.example.").rcode() == dns.rcode.NXDOMAIN

    await policy_store.apply(
        [parse_document("rrset", {"zone": ZONE, "name": "new", "type": "A", "values": ["192.0.2.201"]})]
    )
    took = wait_until(
        lambda: texts(ask(nsd_port, "new.xfr.example.")) == {"192.0.2.201"},
        5,
        "NSD never picked up the change",
        log,
    )
    assert served_serial(nsd_port) == soa_serial(gslb_port) > serial
    assert "notify for xfr.example." in log.read_text()
    print(f"commit -> NSD answers the new record: {took * 1000:.0f} ms")
