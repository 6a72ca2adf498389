"""The systemd units: systemd itself accepts them, and their command lines are ones gslb accepts."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from deploy_support import PENDING_COMMANDS, SYSTEMD, check_gslb_arguments, split_command_line

GSLB = "/usr/bin/gslb"
# The units of this branch; gslb-dns and gslb-anycast come with the anycast work (issue 6).
OWN_UNITS = ("gslb-api", "gslb-health", "gslb-l4", "gslb-proxy", "gslb-serve")
UNITS = sorted(SYSTEMD.glob("*.service"))
SECTIONS = {"Unit", "Service", "Install"}
EXEC_KEYS = ("ExecStartPre", "ExecStart", "ExecStartPost", "ExecReload", "ExecStop", "ExecStopPost")


def parse_unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """Sections -> key -> values (systemd keys may repeat), refusing what systemd would not read."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.startswith(("#", ";")):
            continue
        assert not line.endswith("\\"), f"{path.name}:{number}: keep each setting on one line"
        header = re.fullmatch(r"\[(\w+)\]", line)
        if header:
            assert header.group(1) not in sections, f"{path.name}:{number}: section repeated"
            current = sections[header.group(1)] = {}
            continue
        assert current is not None, f"{path.name}:{number}: setting outside a section"
        key, sep, value = line.partition("=")
        assert sep and re.fullmatch(r"[A-Za-z]+", key), f"{path.name}:{number}: not KEY=VALUE"
        current.setdefault(key, []).append(value)
    return sections


def test_every_component_has_a_unit() -> None:
    names = {path.stem for path in UNITS}
    assert set(OWN_UNITS) <= names
    assert (SYSTEMD / "redis.md").is_file()
    assert (SYSTEMD / "gslb.env.example").is_file()


@pytest.mark.parametrize("path", UNITS, ids=[path.name for path in UNITS])
def test_unit_structure(path: Path) -> None:
    unit = parse_unit(path)
    assert set(unit) == SECTIONS, path.name
    assert unit["Unit"]["Description"]
    assert unit["Install"]["WantedBy"] == ["multi-user.target"]
    service = unit["Service"]
    assert len(service["ExecStart"]) == 1
    assert service.get("Restart") in (["always"], ["on-failure"])
    # Everyone reads the shared environment file (GSLB_REDIS_URL), which may be absent.
    assert "-/etc/gslb/gslb.env" in service["EnvironmentFile"]


@pytest.mark.parametrize("name", OWN_UNITS)
def test_own_units_run_their_gslb_command(name: str) -> None:
    unit = parse_unit(SYSTEMD / f"{name}.service")
    argv = split_command_line(unit["Service"]["ExecStart"][0])
    assert argv[0] == GSLB
    assert argv[1] == name.removeprefix("gslb-")
    assert "$" not in " ".join(argv), "no variables: change options with `systemctl edit`"


GSLB_UNITS = [p for p in UNITS if split_command_line(parse_unit(p)["Service"]["ExecStart"][0])[0] == GSLB]


@pytest.mark.parametrize("path", GSLB_UNITS, ids=[path.name for path in GSLB_UNITS])
def test_gslb_command_lines_are_accepted_by_the_real_parser(path: Path) -> None:
    argv = split_command_line(parse_unit(path)["Service"]["ExecStart"][0])
    check = check_gslb_arguments(argv[1:])
    if check.registered:
        assert check.problem is None, f"{path.name}: {check.problem}"
    else:
        assert check.command in PENDING_COMMANDS, f"{path.name}: gslb {check.command} does not exist"


def test_unprivileged_units_run_as_the_gslb_user_with_at_most_bind_service() -> None:
    for name in OWN_UNITS:
        service = parse_unit(SYSTEMD / f"{name}.service")["Service"]
        if name == "gslb-l4":  # XDP needs root's BPF capabilities, bounded below
            assert "User" not in service
            assert set(service["CapabilityBoundingSet"][0].split()) <= {
                "CAP_BPF", "CAP_PERFMON", "CAP_NET_ADMIN", "CAP_SYS_ADMIN", "CAP_SYS_RESOURCE"
            }  # fmt: skip
            continue
        assert service["User"] == ["gslb"] and service["NoNewPrivileges"] == ["yes"]
        assert service["ProtectSystem"] == ["strict"]
        assert service["CapabilityBoundingSet"] in ([""], ["CAP_NET_BIND_SERVICE"])


def test_serve_excludes_the_units_it_contains() -> None:
    unit = parse_unit(SYSTEMD / "gslb-serve.service")
    # One process serves DNS and the API on the ports those units would take.
    assert {"gslb-dns.service", "gslb-api.service"} <= set(unit["Unit"]["Conflicts"][0].split())
    assert unit["Service"]["StateDirectory"] == ["gslb"]
    assert "GSLB_DATA_DIR=/var/lib/gslb" in unit["Service"]["Environment"]


def test_example_environment_file_names_real_settings() -> None:
    from gslb.settings import ENV_DATA_DIR, ENV_PREFIX, ENV_REDIS_URL

    keys = set()
    for line in (SYSTEMD / "gslb.env.example").read_text().splitlines():
        match = re.match(r"^#?([A-Z_]+)=", line)
        if match:
            keys.add(match.group(1))
    assert keys == {ENV_REDIS_URL, ENV_PREFIX, ENV_DATA_DIR}


def test_systemd_analyze_verify_accepts_every_unit(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is missing (Debian package systemd; scripts/test.sh installs it)"
    # verify also checks that each command exists; the units name their installed paths
    # (/usr/bin/gslb, /usr/bin/exabgp), so point them at a stand-in executable here.
    stand_in = tmp_path / "bin" / "stand-in"
    stand_in.parent.mkdir()
    stand_in.write_text("#!/bin/sh\nexit 0\n")
    stand_in.chmod(0o755)
    for path in UNITS:
        lines = []
        for line in path.read_text().splitlines():
            key, sep, value = line.partition("=")
            if sep and key in EXEC_KEYS:
                prefix = re.match(r"^[-@:+!]*", value).group(0)  # type: ignore[union-attr]
                command = value[len(prefix) :].split(maxsplit=1)
                line = f"{key}={prefix}{stand_in} {command[1] if len(command) > 1 else ''}".rstrip()
            lines.append(line)
        (tmp_path / path.name).write_text("\n".join(lines) + "\n")
    result = subprocess.run(
        [analyze, "verify", "--man=no", *sorted(str(p) for p in tmp_path.glob("*.service"))],
        capture_output=True,
        text=True,
        timeout=60,
    )
    # Warnings (unknown keys, unparsable values) go to stderr with exit status 0: both must be clean.
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
    assert len(UNITS) >= len(OWN_UNITS)


def test_systemd_analyze_catches_a_broken_unit(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    assert analyze
    broken = tmp_path / "broken.service"
    broken.write_text("[Unit]\nDescription=x\n[Service]\nExecStart=/bin/true\nRestart=sometimes\n")
    result = subprocess.run([analyze, "verify", "--man=no", str(broken)], capture_output=True, text=True)
    assert "sometimes" in result.stderr


def test_configparser_reads_units_the_same_way() -> None:
    # A second opinion on the syntax: every unit is also a valid INI file without duplicate sections.
    for path in UNITS:
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        parser.optionxform = str  # type: ignore[assignment,method-assign]
        parser.read(path)
        assert set(parser.sections()) == SECTIONS, path.name
