"""Zone transfer benchmark: how long an AXFR of a large zone takes to render, and the longest the
event loop is held by one message (what the UDP hot path can wait during a transfer).

Usage: tests/bench/run_xfr.sh [--records N] [--dynamic SHARE]
"""

from __future__ import annotations

import argparse
import base64
import time

import dns.message
import dns.tsig

from gslb.dns.tsig_keys import parse_tsig_keys
from gslb.dns.xfr import TransferServer
from gslb.engine import compile_policy
from gslb.policy import PolicySet, parse_document

ZONE = "bench.example."
SECRET = base64.b64encode(b"k" * 32).decode()


def build(records: int, dynamic_share: float) -> PolicySet:
    docs = [
        ("tenant", {"name": "bench"}),
        ("zone", {"name": ZONE, "tenant": "bench", "transfer": {"keys": ["bench-key"]}}),
        ("rrset", {"zone": ZONE, "name": "@", "type": "NS", "values": ["ns1.bench.example."]}),
    ]
    every = int(1 / dynamic_share) if dynamic_share else 0
    for index in range(records):
        name = f"host{index}"
        if every and index % every == 0:
            pools = {
                "eu": {"values": [{"value": f"192.0.2.{index % 250 + 1}"}, {"value": "192.0.2.252"}]},
                "us": {"values": [{"value": "198.51.100.1"}]},
            }
            body = {"pools": pools, "rules": [{"geos": ["EU"], "pool": "eu"}, {"pool": "us"}]}
            docs.append(("rrset", {"zone": ZONE, "name": name, "type": "A", "dynamic": body}))
        else:
            address = f"10.{index // 65536 % 256}.{index // 256 % 256}.{index % 256}"
            docs.append(("rrset", {"zone": ZONE, "name": name, "type": "A", "values": [address]}))
    return PolicySet.from_specs([parse_document(kind, body) for kind, body in docs], revision=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--dynamic", type=float, default=0.05)
    args = parser.parse_args()
    policy = build(args.records, args.dynamic)
    snapshot = compile_policy(policy, {})
    keys = parse_tsig_keys(f"bench-key: {{algorithm: hmac-sha256, secret: {SECRET}}}")
    server = TransferServer(lambda: (snapshot, policy), keys)
    key = dns.tsig.Key("bench-key.", SECRET, "hmac-sha256")
    for label in ("first (builds the record sets)", "again (cached per zone version)"):
        query = dns.message.make_query(ZONE, "AXFR")
        query.use_tsig(key, key.name, algorithm=key.algorithm)
        wire = query.to_wire()
        started = time.perf_counter()
        longest = 0.0
        size = 0
        count = 0
        previous = started
        for message in server.responses(wire, "127.0.0.1"):
            now = time.perf_counter()
            longest = max(longest, now - previous)
            previous = now
            size += len(message)
            count += 1 if message else 0
        total = time.perf_counter() - started
        print(
            f"AXFR {label}: {args.records} record sets, {count} messages, {size / 1e6:.1f} MB, "
            f"{total * 1000:.0f} ms total, longest single step {longest * 1000:.1f} ms"
        )


if __name__ == "__main__":
    main()
