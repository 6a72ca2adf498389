"""Parts of zone transfers on their own: the key file, the transfer policy, NOTIFY retries and
bounds (against real UDP sockets on loopback), and the transfer policy through import/export."""

from __future__ import annotations

import asyncio
import base64
import socket
from pathlib import Path
from typing import Any

import dns.message
import dns.opcode
import dns.rcode
import dns.rdatatype
import pytest

from gslb.dns.notify import Notifier
from gslb.dns.tsig_keys import TsigKeyError, load_tsig_keys, parse_tsig_keys
from gslb.dns.zone_policy import PolicySetZonePolicy
from gslb.engine import compile_policy
from gslb.importer import export_policy_yaml, load_policy_yaml
from gslb.policy import PolicyError, PolicySet, parse_document
from tests.dns.xfr_support import KEYRING, SECRETS, ZONE, policy_yaml

SECRET = SECRETS["xfr-key"]


def test_key_file_reads_yaml_and_bind_clauses() -> None:
    yaml_keys = parse_tsig_keys(f"Xfr-Key:\n  algorithm: hmac-sha256\n  secret: {SECRET}\n")
    bind_keys = parse_tsig_keys(
        f'# made by tsig-keygen\nkey "xfr-key" {{\n\talgorithm hmac-sha512;\n\tsecret "{SECRET}";\n}};\n'
        f'key other {{ secret "{SECRET}"; algorithm hmac-sha1; }};\n'
    )
    key = yaml_keys.get("xfr-key.")
    assert key is not None and key.secret == base64.b64decode(SECRET)
    assert str(key.algorithm) == "hmac-sha256."
    assert yaml_keys.get("XFR-KEY") is key, "key names compare case-insensitively"
    assert str(bind_keys.get("xfr-key").algorithm) == "hmac-sha512."  # type: ignore[union-attr]
    assert str(bind_keys.get("other").algorithm) == "hmac-sha1."  # type: ignore[union-attr]
    assert SECRET not in repr(yaml_keys) and "xfr-key" in repr(yaml_keys)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("k: {algorithm: hmac-md5, secret: c2VjcmV0}", "algorithm 'hmac-md5' is not supported"),
        ("k: {algorithm: hmac-sha256, secret: 'not base64!'}", "'secret' is not valid base64"),
        ("k: {algorithm: hmac-sha256}", "'secret' must be the base64 text"),
        ("k: {secret: c2VjcmV0, colour: red}", "unknown field(s) colour"),
        ("[1, 2]", "expected a mapping of key name"),
        ('key "k" { algorithm hmac-sha256; };', "'secret' must be the base64 text"),
    ],
)
def test_key_file_problems_say_what_to_fix_without_echoing_secrets(text: str, message: str) -> None:
    with pytest.raises(TsigKeyError) as excinfo:
        parse_tsig_keys(text, "keys.yaml")
    assert message in str(excinfo.value) and "keys.yaml" in str(excinfo.value)
    assert "not base64!" not in str(excinfo.value)


def test_missing_key_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TsigKeyError, match="cannot read the TSIG key file"):
        load_tsig_keys(tmp_path / "absent.conf")


def test_transfer_policy_round_trips_through_import_and_export_without_secrets() -> None:
    imported = load_policy_yaml(policy_yaml(["127.0.0.1:5300", "[::1]"]), filename="policy.yaml")
    zones = {spec.name: spec for spec in imported.specs if getattr(spec, "transfer", None) is not None}
    transfer = zones[ZONE].transfer
    assert transfer.keys == ("xfr-key.",) and transfer.signing_key == "xfr-key."
    assert transfer.also_notify == ("127.0.0.1:5300", "[::1]:53")
    exported = export_policy_yaml(PolicySet.from_specs(imported.specs))
    assert "also_notify" in exported and SECRET not in exported
    again = load_policy_yaml(exported, filename="export.yaml")
    assert sorted(map(repr, again.specs)) == sorted(map(repr, imported.specs))


def test_transfer_policy_problems_point_at_the_field() -> None:
    with pytest.raises(PolicyError) as excinfo:
        parse_document(
            "zone",
            {
                "name": ZONE,
                "tenant": "acme",
                "transfer": {
                    "keys": [],
                    "networks": ["10.0.0.1/8"],
                    "also_notify": ["ns1.example.", "1.2.3.4:0"],
                },
            },
        )
    text = str(excinfo.value)
    assert "/transfer/keys: list at least one TSIG key name" in text
    assert "/transfer/networks/0" in text and "did you mean 10.0.0.0/8" in text
    assert "/transfer/also_notify/0" in text and "NOTIFY goes to addresses" in text
    assert "/transfer/also_notify/1" in text and "port must be a number from 1 to 65535" in text


class Secondary(asyncio.DatagramProtocol):
    """A real UDP endpoint answering NOTIFY: silent for the first `ignore` ones, then `rcode`."""

    def __init__(self, ignore: int = 0, rcode: dns.rcode.Rcode = dns.rcode.NOERROR) -> None:
        self.ignore = ignore
        self.rcode = rcode
        self.seen: list[int] = []
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        message = dns.message.from_wire(data, keyring=KEYRING)
        assert message.opcode() == dns.opcode.NOTIFY and message.had_tsig
        self.seen.append(message.answer[0][0].serial)
        if len(self.seen) <= self.ignore:
            return
        response = dns.message.make_response(message)
        response.set_rcode(self.rcode)
        self.transport.sendto(response.to_wire(), addr)


async def secondary(**kwargs: Any) -> tuple[Secondary, int]:
    loop = asyncio.get_running_loop()
    _transport, protocol = await loop.create_datagram_endpoint(
        lambda: Secondary(**kwargs), local_addr=("127.0.0.1", 0)
    )
    return protocol, protocol.transport.get_extra_info("sockname")[1]


def zone_policy(targets: list[str], revision: int, *, key: str = "xfr-key") -> PolicySet:
    docs = [
        ("tenant", {"name": "acme"}),
        (
            "zone",
            {"name": ZONE, "tenant": "acme", "transfer": {"keys": [key], "also_notify": targets}},
        ),
        ("rrset", {"zone": ZONE, "name": "@", "type": "NS", "values": ["ns1.xfr.example."]}),
    ]
    return PolicySet.from_specs([parse_document(kind, body) for kind, body in docs], revision=revision)


async def wait(predicate: Any, timeout: float = 3.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.005)


async def test_notify_is_retried_with_backoff_until_answered_and_only_on_serial_change() -> None:
    peer, port = await secondary(ignore=2)
    policy = zone_policy([f"127.0.0.1:{port}"], revision=7)
    notifier = Notifier(
        PolicySetZonePolicy(policy), parse_tsig_keys(f"xfr-key: {{secret: {SECRET}}}"), timeout=0.05
    )
    try:
        notifier.snapshot_changed(compile_policy(policy, {}))
        await wait(lambda: notifier.stats.acknowledged == 1 and notifier.pending == 0)
        assert peer.seen == [7, 7, 7], "two unanswered, the third acknowledged"
        assert notifier.stats.sent == 3 and notifier.pending == 0
        notifier.snapshot_changed(compile_policy(policy, {}))  # same serial: nothing to say
        await asyncio.sleep(0.1)
        assert peer.seen == [7, 7, 7]
    finally:
        await notifier.stop()
        peer.transport.close()


async def test_notify_gives_up_after_its_attempts_and_stops_on_refusal() -> None:
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))  # receives and never answers
    refusing, refusing_port = await secondary(rcode=dns.rcode.REFUSED)
    targets = [f"127.0.0.1:{silent.getsockname()[1]}", f"127.0.0.1:{refusing_port}"]
    policy = zone_policy(targets, revision=3)
    keys = parse_tsig_keys(f"xfr-key: {{secret: {SECRET}}}")
    notifier = Notifier(PolicySetZonePolicy(policy), keys, timeout=0.25, attempts=3)
    try:
        notifier.snapshot_changed(compile_policy(policy, {}))
        await wait(lambda: notifier.pending == 0)
        assert notifier.stats.gave_up == 1 and notifier.stats.rejected == 1
        assert refusing.seen == [3], "an error answer is final"
        assert notifier.stats.sent == 3 + 1
    finally:
        await notifier.stop()
        silent.close()
        refusing.transport.close()


async def test_notify_is_bounded_superseded_and_needs_the_key() -> None:
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    target = f"127.0.0.1:{silent.getsockname()[1]}"
    keys = parse_tsig_keys(f"xfr-key: {{secret: {SECRET}}}")
    first, second = zone_policy([target], revision=1), zone_policy([target], revision=2)
    current = first

    class Current:
        def zone(self, name: str) -> Any:
            return current.zones().get(name)

        def records(self, name: str) -> Any:
            return {}

    notifier = Notifier(Current(), keys, timeout=5, max_pending=1)
    try:
        notifier.snapshot_changed(compile_policy(first, {}))
        current = second
        notifier.snapshot_changed(compile_policy(second, {}))
        assert notifier.pending == 1, "a newer serial replaces the pending NOTIFY"
        other = zone_policy([target], revision=3)
        other_zone = compile_policy(other, {}).zones[ZONE]
        notifier._schedule(other_zone, "127.0.0.2:53", "xfr-key.")  # a second slot: over the bound
        assert notifier.stats.dropped == 1 and notifier.pending == 1
    finally:
        await notifier.stop()
    assert notifier.pending == 0

    unknown = zone_policy([target], revision=4, key="missing-key")
    notifier = Notifier(PolicySetZonePolicy(unknown), keys, timeout=0.02)
    notifier.snapshot_changed(compile_policy(unknown, {}))
    await wait(lambda: notifier.pending == 0)
    assert notifier.stats.dropped == 1 and notifier.stats.sent == 0
    silent.close()


def test_gslb_dns_refuses_a_bad_key_file_with_exit_code_2(tmp_path: Path) -> None:
    import subprocess
    import sys

    bad = tmp_path / "keys.yaml"
    bad.write_text("xfr-key: {algorithm: hmac-sha256, secret: 'not base64!'}\n")
    for path, message in ((bad, "'secret' is not valid base64"), (tmp_path / "absent", "cannot read")):
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "gslb",
                "dns",
                "--data-dir",
                str(tmp_path / "data"),
                "--tsig-keys",
                str(path),
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.returncode == 2, result.stderr
        assert message in result.stderr and "not base64!" not in result.stderr


def test_transfer_networks_limit_who_may_transfer() -> None:
    from gslb.dns.xfr import TransferServer
    from tests.dns.xfr_support import XFR_KEY

    imported = load_policy_yaml(policy_yaml([]), filename="policy.yaml")
    policy = PolicySet.from_specs(imported.specs, revision=5)
    snapshot = compile_policy(policy, {})
    keys = parse_tsig_keys(f"xfr-key: {{secret: {SECRET}}}")
    server = TransferServer(lambda: snapshot, PolicySetZonePolicy(policy), keys)

    def first_answer(client: str) -> dns.message.Message:
        query = dns.message.make_query(ZONE, "AXFR")
        query.use_tsig(XFR_KEY, XFR_KEY.name, algorithm=XFR_KEY.algorithm)
        wire = next(message for message in server.responses(query.to_wire(), client) if message)
        return dns.message.from_wire(wire, keyring=XFR_KEY, request_mac=query.mac)

    assert first_answer("192.0.2.1").rcode() == dns.rcode.REFUSED, "outside 127.0.0.0/8 and ::1"
    assert first_answer("2001:db8::1").rcode() == dns.rcode.REFUSED
    for inside in ("127.0.0.2", "::ffff:127.0.0.1", "::1"):
        response = first_answer(inside)
        assert response.rcode() == dns.rcode.NOERROR and response.answer[0].rdtype == dns.rdatatype.SOA
    assert server.counts[(ZONE, "refused")] == 2 and server.counts[(ZONE, "transferred")] == 3
