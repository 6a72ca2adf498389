"""`gslb import/export/validate/status` end to end, on the embedded store and on a real Redis."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from gslb.cli import main
from gslb.demo import DEMO_POLICY_YAML

ZONE_HEAD = """\
tenants:
  acme:
    checks:
      web: {type: tcp, port: 80}
    zones:
      example.com.:
        records:
          '':
            - {type: NS, values: [ns1.example.com.]}
"""


def zone_file(tmp_path: Path, records: int, name: str = "p.yaml") -> Path:
    lines = [ZONE_HEAD] + [f"          r{i}: {{type: A, values: [192.0.2.{i}]}}\n" for i in range(records)]
    path = tmp_path / name
    path.write_text("".join(lines))
    return path


@pytest.fixture(params=["embedded", "redis"])
def store_args(request: pytest.FixtureRequest, tmp_path: Path) -> list[str]:
    if request.param == "embedded":
        return ["--data-dir", str(tmp_path / "data")]
    server = request.getfixturevalue("redis_server")
    return ["--redis-url", server.url, "--prefix", f"cli{abs(hash(str(tmp_path))) % 10**8}"]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_import_plan_apply_export_round_trip(tmp_path: Path, store_args: list[str], capsys: Any) -> None:
    policy = tmp_path / "demo.yaml"
    policy.write_text(DEMO_POLICY_YAML)
    code, out, _ = run(capsys, "import", str(policy), "--dry-run", *store_args)
    assert code == 0 and "+ rrset:demo.example./app/A" in out and "dry run: nothing written" in out
    code, out, _ = run(capsys, "status", *store_args)
    assert "revision:  0" in out

    code, out, _ = run(capsys, "import", str(policy), *store_args)
    assert code == 0 and "applied at revision 1" in out
    code, out, _ = run(capsys, "import", str(policy), *store_args)
    assert code == 0 and "no changes" in out

    code, exported, _ = run(capsys, "export", *store_args)
    assert code == 0
    again = tmp_path / "again.yaml"
    again.write_text(exported)
    code, out, _ = run(capsys, "import", str(again), *store_args)
    assert "no changes" in out, "an export re-imports without changes"

    code, out, _ = run(capsys, "status", *store_args)
    assert "revision:  1" in out and "tenants:   demo, demo-eu" in out and "rrset:     12" in out


def test_thirty_percent_guard(tmp_path: Path, store_args: list[str], capsys: Any) -> None:
    assert run(capsys, "import", str(zone_file(tmp_path, 9)), *store_args)[0] == 0  # 10 record sets with NS
    # Dropping 3 of 10 (30%) is allowed; dropping 4 of 7 more (57%) needs --force.
    code, out, _ = run(capsys, "import", str(zone_file(tmp_path, 6)), *store_args)
    assert code == 0 and "applied at revision 2" in out
    code, out, err = run(capsys, "import", str(zone_file(tmp_path, 2)), *store_args)
    assert code == 3
    assert "example.com." in err and "--force" in err and "nothing written" in err
    assert "revision:  2" in run(capsys, "status", *store_args)[1]
    code, out, _ = run(capsys, "import", str(zone_file(tmp_path, 2)), "--force", *store_args)
    assert code == 0 and "applied at revision 3" in out


def test_bad_input_is_located_and_nothing_written(tmp_path: Path, store_args: list[str], capsys: Any) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        textwrap.dedent(
            """\
            tenants:
              acme:
                zones:
                  example.com.:
                    records:
                      '':
                        - {type: NS, values: [ns1.example.com.]}
                      www: {type: A, values: [192.0.2.300], colour: blue}
                      app:
                        type: A
                        dynamic:
                          pools:
                            eu: {values: [{value: 192.0.2.1, weight: 5000}]}
                          rules:
                            - {pool: us}
            """
        )
    )
    code, _, err = run(capsys, "import", str(bad), *store_args)
    assert code == 3
    assert "nothing written" in err
    assert f"{bad}:8:" in err and "192.0.2.300" in err
    assert "colour" in err
    assert f"{bad}:13:" in err and "weight" in err
    assert "revision:  0" in run(capsys, "status", *store_args)[1]

    malformed = tmp_path / "malformed.yaml"
    malformed.write_text("tenants:\n  acme: {zones: [\n")
    code, _, err = run(capsys, "validate", str(malformed))
    assert code == 3 and f"{malformed}:" in err


def test_zone_owned_by_another_tenant_is_refused(tmp_path: Path, store_args: list[str], capsys: Any) -> None:
    assert run(capsys, "import", str(zone_file(tmp_path, 1)), *store_args)[0] == 0
    other = tmp_path / "other.yaml"
    other.write_text(ZONE_HEAD.replace("acme", "globex").replace("example.com.", "sub.example.com."))
    code, _, err = run(capsys, "import", str(other), *store_args)
    assert code == 3 and "sub.example.com." in err and "another tenant" in err


def test_bind_and_octodns_zone_files(tmp_path: Path, store_args: list[str], capsys: Any) -> None:
    bind = tmp_path / "example.org.zone"
    bind.write_text(
        "$ORIGIN example.org.\n$TTL 300\n"
        "@ IN SOA ns1 hostmaster 1 3600 600 604800 300\n"
        "@ IN NS ns1\nns1 IN A 192.0.2.53\nwww IN A 192.0.2.80\n"
        "mail IN MX 10 mx.example.net.\n"
    )
    assert run(capsys, "import", str(zone_file(tmp_path, 0)), *store_args)[0] == 0
    code, out, err = run(
        capsys, "import", "--bind", str(bind), "--zone", "example.org.", "--tenant", "acme", *store_args
    )
    assert code == 0, err
    assert "+ rrset:example.org./www/A" in out
    octo = tmp_path / "octo.yaml"
    octo.write_text("'':\n  type: NS\n  values: [ns1.example.org.]\nwww:\n  type: A\n  value: 192.0.2.81\n")
    code, out, err = run(
        capsys, "import", "--octodns", str(octo), "--zone", "example.org.", *store_args, "--force"
    )
    assert code == 0, err
    assert "~ rrset:example.org./www/A" in out and "- rrset:example.org./mail/MX" in out


def test_help_documents_every_command(capsys: Any) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in ("serve", "import", "export", "validate", "status", "geo"):
        assert command in out


def test_dangling_references_are_located(tmp_path: Path, store_args: list[str], capsys: Any) -> None:
    path = tmp_path / "dangling.yaml"
    path.write_text(
        ZONE_HEAD
        + textwrap.indent(
            textwrap.dedent(
                """\
                app:
                  type: A
                  dynamic:
                    pools:
                      eu: {values: [{value: 192.0.2.1, health_check: nope}], fallback: us}
                    rules:
                      - {geos: [EU], pool: eu}
                      - {pool: asia}
                """
            ),
            " " * 10,
        )
    )
    code, _, err = run(capsys, "import", str(path), *store_args)
    assert code == 3 and "nothing written" in err
    assert f"{path}:14:" in err and "health check 'nope' does not exist" in err
    assert f"{path}:14:" in err and "fallback pool 'us' is not defined" in err
    assert f"{path}:17:" in err and "pool 'asia' is not defined" in err
    assert "revision:  0" in run(capsys, "status", *store_args)[1]


def test_validate_zone_file_offline(tmp_path: Path, capsys: Any) -> None:
    zone = tmp_path / "example.org.zone"
    zone.write_text("$ORIGIN example.org.\n$TTL 300\n@ IN NS ns1\nns1 IN A 192.0.2.53\n")
    code, out, _ = run(capsys, "validate", "--bind", str(zone), "--zone", "example.org.")
    assert code == 0 and "valid (2 documents)" in out
    zone.write_text("$ORIGIN example.org.\n@ 300 IN NS ns1\nwww 300 IN CNAME a.example.\nwww 300 IN TXT x\n")
    code, _, err = run(capsys, "validate", "--bind", str(zone), "--zone", "example.org.")
    assert code == 3 and "cannot coexist with other data" in err and f"{zone}:3" in err
    code, _, err = run(capsys, "validate", "--bind", str(zone))
    assert code == 2 and "need --zone" in err


def test_explain_shows_rule_pool_and_scope(tmp_path: Path, store_args: list[str], capsys: Any) -> None:
    from geodata.build import build_mmdb_from_csv, demo_csv_path

    policy = tmp_path / "demo.yaml"
    policy.write_text(DEMO_POLICY_YAML)
    assert run(capsys, "import", str(policy), *store_args)[0] == 0
    geoip = tmp_path / "demo.mmdb"
    build_mmdb_from_csv(demo_csv_path(), geoip)
    code, out, _ = run(
        capsys,
        "explain",
        "app.demo.example",
        "A",
        "--ecs",
        "203.0.113.0/24",
        "--geoip",
        str(geoip),
        *store_args,
    )
    assert code == 0
    assert "pool:    asia" in out and "answer:  203.0.113.1" in out and "ECS scope: /24" in out
    assert "rule 2" in out
    code, out, _ = run(capsys, "explain", "app.demo.example", "--client", "10.9.9.9", *store_args)
    assert "pool:    us" in out and "subnets 10.0.0.0/8" in out
    assert "NXDOMAIN" in run(capsys, "explain", "nope.demo.example", *store_args)[1]
    assert "192.0.2.10, 192.0.2.11" in run(capsys, "explain", "www.demo.example", *store_args)[1]
