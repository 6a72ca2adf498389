"""The Grafana dashboard: valid JSON, a sound layout, and only metric names that exist or are
documented as coming with a component not merged yet (deploy/grafana/README.md)."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import dns.message
import dns.query
from deploy_live import LiveDns, wait_for
from deploy_support import GRAFANA
from prometheus_client.parser import text_string_to_metric_families

DASHBOARD = GRAFANA / "gslb-dashboard.json"

PROMQL_FUNCTIONS = {
    "sum", "avg", "min", "max", "count", "topk", "bottomk", "rate", "irate", "increase", "delta",
    "histogram_quantile", "clamp_min", "clamp_max", "abs", "label_values", "sort", "sort_desc",
    "avg_over_time", "max_over_time", "min_over_time", "time", "vector", "scalar",
}  # fmt: skip
PROMQL_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or",
                   "unless", "offset", "instance"}  # fmt: skip
SUFFIXES = {"counter": ("",), "gauge": ("",), "histogram": ("_bucket", "_sum", "_count")}


def documented_metrics() -> dict[str, tuple[str, str]]:
    """Series name -> (type, status) from the table in deploy/grafana/README.md."""
    table: dict[str, tuple[str, str]] = {}
    row = re.compile(
        r"^\| `(gslb_[a-z0-9_]+)` \| (counter|gauge|histogram) \|.*\| (serving|coming \(issue \d+\)) \|$"
    )
    for line in (GRAFANA / "README.md").read_text().splitlines():
        match = row.match(line)
        if match:
            name, kind, status = match.groups()
            for suffix in SUFFIXES[kind]:
                table[name + suffix] = (kind, status)
    return table


def dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return data


def expressions(data: dict[str, Any]) -> list[str]:
    exprs = [t["expr"] for p in data["panels"] for t in p.get("targets", [])]
    exprs += [v["definition"] for v in data["templating"]["list"] if "definition" in v]
    return exprs


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads; anything else left over is an error."""
    stripped = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)  # strings (label values, regexes)
    stripped = re.sub(r"\{[^}]*\}", " ", stripped)  # label matchers
    stripped = re.sub(r"\[[^\]]*\]", " ", stripped)  # range durations
    stripped = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", " ", stripped)  # grouping labels
    tokens = set(re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", stripped))
    unknown = tokens - PROMQL_FUNCTIONS - PROMQL_KEYWORDS
    leftover = {token for token in unknown if not token.startswith("gslb_")}
    assert not leftover, f"{expr!r}: {sorted(leftover)} are neither gslb metrics nor PromQL words"
    return unknown


def test_the_metric_name_extraction_reads_names_and_nothing_else() -> None:
    expr = (
        "histogram_quantile(0.99, sum by (le, method) "
        '(rate(gslb_api_request_seconds_bucket{instance=~"$instance"}[$__rate_interval])))'
    )
    assert metric_names(expr) == {"gslb_api_request_seconds_bucket"}
    assert metric_names('max(gslb_snapshot_revision) - gslb_snapshot_revision{a="b"}') == {
        "gslb_snapshot_revision"
    }
    try:
        metric_names("sum(rate(node_cpu_seconds_total[5m]))")
    except AssertionError as exc:
        assert "node_cpu_seconds_total" in str(exc)
    else:
        raise AssertionError("a foreign metric name went unnoticed")


def test_the_dashboard_is_importable_grafana_json() -> None:
    data = dashboard()
    assert data["title"] and data["uid"] == "gslb-overview" and data["schemaVersion"] >= 36
    ids = [p["id"] for p in data["panels"]]
    assert len(ids) == len(set(ids))
    variables = {v["name"]: v for v in data["templating"]["list"]}
    assert (
        variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    )
    occupied: set[tuple[int, int]] = set()
    for panel in data["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, panel["title"]
        cells = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not cells & occupied, f"panel {panel['title']!r} overlaps another"
        occupied |= cells
        if panel["type"] != "row":
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
            assert panel["targets"], panel["title"]
            for target in panel["targets"]:
                # Every panel follows the instance selection.
                assert 'instance=~"$instance"' in target["expr"], panel["title"]


def test_the_dashboard_reads_only_documented_metrics() -> None:
    documented = documented_metrics()
    used = set().union(*(metric_names(expr) for expr in expressions(dashboard())))
    assert used, "no metric found in the dashboard"
    assert used <= set(documented), f"undocumented: {sorted(used - set(documented))}"
    # Every serving metric has a panel.
    serving = {name for name, (_kind, status) in documented.items() if status == "serving"}
    families = {re.sub(r"_(bucket|sum|count)$", "", name) for name in serving}
    used_families = {re.sub(r"_(bucket|sum|count)$", "", name) for name in used}
    assert families <= used_families, f"no panel for {sorted(families - used_families)}"


def test_serving_metrics_are_exported_by_a_real_dns_node(live_dns: LiveDns) -> None:
    wait_for(live_dns, "/readyz", 200)
    host, port = live_dns.dns
    dns.query.udp(dns.message.make_query("www.demo.example.", "A"), host, port=port, timeout=2)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the query log writes its lines every 0.2 s
        if live_dns.query_log.exists() and live_dns.query_log.read_text():
            break
        time.sleep(0.05)
    code, body = live_dns.get("/metrics")
    assert code == 200
    exported: set[str] = set()
    for family in text_string_to_metric_families(body.decode()):
        exported |= {sample.name for sample in family.samples}
        for suffix in SUFFIXES.get(family.type, ()):
            exported.add(family.name + ("_total" if family.type == "counter" else suffix))
    serving = {name for name, (_kind, status) in documented_metrics().items() if status == "serving"}
    assert serving <= exported, f"documented as serving but not exported: {sorted(serving - exported)}"
    coming = {name for name, (_kind, status) in documented_metrics().items() if status != "serving"}
    assert not coming & exported, f"exported now, mark them serving: {sorted(coming & exported)}"
