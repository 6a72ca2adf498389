"""The DNS Deployment's own command line, run for real: its probes answer as Kubernetes expects."""

from __future__ import annotations

import json

import dns.message
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
from deploy_live import LiveDns, wait_for
from prometheus_client.parser import text_string_to_metric_families


def test_startup_readiness_and_liveness_probes_answer_200(live_dns: LiveDns) -> None:
    probes = {kind: live_dns.container[kind]["httpGet"] for kind in ("startupProbe", "readinessProbe")}
    probes["livenessProbe"] = live_dns.container["livenessProbe"]["httpGet"]
    # Kubernetes waits for the startup probe, then routes queries once readiness passes.
    startup = wait_for(live_dns, probes["startupProbe"]["path"], 200)
    assert startup < live_dns.container["startupProbe"]["periodSeconds"] * 60
    wait_for(live_dns, probes["readinessProbe"]["path"], 200)
    for kind, probe in probes.items():
        code, body = live_dns.get(probe["path"])
        assert code == 200, (kind, body)
    code, body = live_dns.get(probes["readinessProbe"]["path"])
    assert json.loads(body) == {"ready": True}


def test_the_node_answers_hosted_zones_and_refuses_forwarding_to_outsiders(live_dns: LiveDns) -> None:
    wait_for(live_dns, "/readyz", 200)
    host, port = live_dns.dns
    answer = dns.query.udp(dns.message.make_query("www.demo.example.", "A"), host, port=port, timeout=2)
    assert answer.rcode() == dns.rcode.NOERROR
    assert answer.find_rrset(answer.answer, answer.question[0].name, dns.rdataclass.IN, dns.rdatatype.A)
    # 127.0.0.1 is outside the manifest's --forward-allow networks: no forwarding for it.
    outside = dns.query.tcp(dns.message.make_query("example.org.", "A"), host, port=port, timeout=2)
    assert outside.rcode() == dns.rcode.REFUSED


def test_the_scrape_annotation_path_serves_prometheus_metrics(live_dns: LiveDns) -> None:
    wait_for(live_dns, "/readyz", 200)
    code, body = live_dns.get("/metrics")
    assert code == 200
    families = {family.name: family.type for family in text_string_to_metric_families(body.decode())}
    assert families["gslb_dns_queries"] == "counter"
    assert families["gslb_dns_forward_queries"] == "counter"  # the manifest turns forwarding on
