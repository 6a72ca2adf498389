"""The deploy/ files parse with the real tools: BIRD 2 (`bird -p`) and ExaBGP (`exabgp validate`)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"

PLACEHOLDERS = {
    "@NODE_ADDRESS@": "198.51.100.2",
    "@ROUTER_ADDRESS@": "198.51.100.1",
    "@NODE_AS@": "65001",
    "@ROUTER_AS@": "65000",
    "@DNS_LISTEN@": "192.0.2.53:53",
    "@CHECK_NAME@": "ns1.example.com.",
}


def test_bird_snippet_parses(tmp_path: Path) -> None:
    bird = shutil.which("bird") or "/usr/sbin/bird"
    assert Path(bird).exists(), "bird is missing (Debian bird2; scripts/test.sh installs it)"
    conf = tmp_path / "bird.conf"
    conf.write_text(f'router id 198.51.100.1;\ninclude "{DEPLOY / "bird" / "anycast-peers.conf"}";\n')
    result = subprocess.run([bird, "-p", "-c", str(conf)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr


def test_exabgp_template_validates_once_filled_in(tmp_path: Path) -> None:
    exabgp = shutil.which("exabgp")
    assert exabgp, "exabgp is missing (pinned in pyproject.toml)"
    text = (DEPLOY / "exabgp" / "exabgp.conf.template").read_text()
    for placeholder, value in PLACEHOLDERS.items():
        text = text.replace(placeholder, value)
    config_lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    assert not any("@" in line for line in config_lines), "a placeholder is left"
    # ExaBGP checks that the program exists: point it at this interpreter instead of /usr/bin/gslb.
    conf = tmp_path / "exabgp.conf"
    conf.write_text(text.replace("/usr/bin/gslb anycast", f"{sys.executable} -m gslb anycast"))
    result = subprocess.run([exabgp, "validate", str(conf)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_anycast_unit_is_ordered_after_dns_so_it_stops_first() -> None:
    unit = (DEPLOY / "systemd" / "gslb-anycast.service").read_text()
    after = next(line for line in unit.splitlines() if line.startswith("After="))
    assert "gslb-dns.service" in after and "Requires=gslb-dns.service" in unit
    assert "KillMode=mixed" in unit and "Restart=always" in unit
