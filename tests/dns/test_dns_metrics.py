"""Query counting: every query counted by zone/type/rcode/pool/transport, latency sampled 1 in 16."""

from __future__ import annotations

from test_dns_responder_support import query, responder

from gslb.dns.message import QueryInfo
from gslb.dns.metrics import CountingAnswerer, QueryMetrics


def test_every_query_is_counted_and_one_in_sixteen_is_timed() -> None:
    metrics = QueryMetrics()
    counting = CountingAnswerer(responder(), metrics)
    for _ in range(33):
        assert counting.answer(query("www.example.com"), "192.0.2.1", tcp=False) is not None
    assert counting.answer(query("nope.example.com"), "192.0.2.1", tcp=True) is not None
    assert counting.answer(b"\x00\x01", "192.0.2.1", tcp=False) is None  # a runt: dropped
    assert metrics.udp_counts == {QueryInfo("example.com.", 1, 0, None): 33}
    assert metrics.tcp_counts == {QueryInfo("example.com.", 1, 3, None): 1}
    assert metrics.dropped == 1
    assert sum(metrics.latency_counts) == 3  # queries 1, 17 and 33
    assert metrics.latency_sum > 0


def test_collect_exports_counts_by_label() -> None:
    metrics = QueryMetrics()
    counting = CountingAnswerer(responder(), metrics)
    counting.answer(query("net.example.com"), "10.1.2.3", tcp=False)
    families = {family.name: family for family in metrics.collect()}
    samples = [(sample.labels, sample.value) for sample in families["gslb_dns_queries"].samples]
    expected = {
        "zone": "example.com.",
        "qtype": "A",
        "rcode": "NOERROR",
        "pool": "office",
        "transport": "udp",
    }
    assert (expected, 1.0) in samples
