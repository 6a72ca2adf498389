"""The query log buffer: bounded, never blocking, lines decoded off the hot path."""

from __future__ import annotations

import json
from pathlib import Path

from test_dns_responder_support import query

from gslb.dns.message import QueryInfo
from gslb.dns.query_log import QueryLog, format_line


def test_a_full_buffer_drops_and_counts_instead_of_growing() -> None:
    log = QueryLog("-", max_pending=3)
    for _ in range(5):
        log.record(query("www.example.com"), "192.0.2.1", "udp", QueryInfo("example.com.", 1, 0, None))
    assert len(log.pending) == 3 and log.dropped == 2


def test_a_line_names_the_question_and_the_outcome() -> None:
    line = json.loads(
        format_line(
            0.5,
            "2001:db8::1",
            "tcp",
            query("WWW.Example.COM", "AAAA"),
            QueryInfo("example.com.", 28, 0, "eu"),
        )
    )
    assert line == {
        "ts": "1970-01-01T00:00:00.500000Z",
        "client": "2001:db8::1",
        "transport": "tcp",
        "name": "www.example.com.",
        "type": "AAAA",
        "rcode": "NOERROR",
        "zone": "example.com.",
        "pool": "eu",
    }


def test_an_unparseable_question_is_logged_without_a_name() -> None:
    line = json.loads(format_line(0.0, "192.0.2.1", "udp", b"\x00" * 12, QueryInfo(None, 0, 1, None)))
    assert line["name"] is None and line["rcode"] == "FORMERR"


async def test_close_writes_what_is_pending(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    log = QueryLog(str(path), flush_interval=60)
    log.start()
    log.record(query("www.example.com"), "192.0.2.1", "udp", QueryInfo("example.com.", 1, 0, None))
    await log.close()
    assert json.loads(path.read_text())["name"] == "www.example.com." and log.written == 1
