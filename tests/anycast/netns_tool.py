"""Small commands the anycast lab runs inside its network namespaces (the test process cannot enter them).

python3 netns_tool.py query SERVER NAME            one UDP query; prints the A records or the error
python3 netns_tool.py put REDIS_URL KIND NAME TENANT JSON   write a document as-is (no validation)
python3 netns_tool.py delete REDIS_URL KIND NAME
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import dns.exception
import dns.message
import dns.query


def query(server: str, name: str) -> int:
    try:
        response = dns.query.udp(dns.message.make_query(name, "A"), server, timeout=1.0)
    except (OSError, dns.exception.DNSException) as exc:
        print(f"error {exc or type(exc).__name__}")
        return 1
    print(" ".join(sorted(rdata.to_text() for rrset in response.answer for rdata in rrset)))
    return 0


async def write(url: str, op: str, kind: str, name: str, tenant: str = "", body: str = "{}") -> int:
    from gslb.store import Delete, DocRef, Put, open_store

    store = await open_store(url, data_dir=Path("/nonexistent"))
    try:
        ref = DocRef(kind, name)
        change = Put(ref, tenant, json.loads(body)) if op == "put" else Delete(ref)
        print(await store.commit([change]))
    finally:
        await store.close()
    return 0


def main(argv: list[str]) -> int:
    if argv[0] == "query":
        return query(argv[1], argv[2])
    return asyncio.run(write(argv[1], argv[0], *argv[2:]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
