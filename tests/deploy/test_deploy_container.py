"""The container image definition, checked without building it (CI has no network for pip)."""

from __future__ import annotations

import json
import re
import tomllib

from deploy_support import CONTAINER, KUBERNETES, REPO, all_containers, check_gslb_arguments, is_gslb, render

DOCKERFILE = CONTAINER / "Dockerfile"
BASES = {"python:3.11-slim-bookworm", "debian:bookworm-slim"}


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    result: list[tuple[str, str]] = []
    pending = ""
    for line in DOCKERFILE.read_text().splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        text = pending + line
        pending = ""
        word, _, rest = text.strip().partition(" ")
        assert word.isupper(), f"not an instruction: {text!r}"
        result.append((word, rest.strip()))
    assert not pending, "the Dockerfile ends inside a continued line"
    return result


def build_args() -> dict[str, str]:
    return dict(arg.split("=", 1) for word, arg in instructions() if word == "ARG" and "=" in arg)


def test_stages_use_debian_bookworm_python_bases() -> None:
    args = build_args()
    bases = [
        re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], arg.split()[0])
        for w, arg in instructions()
        if w == "FROM"
    ]
    assert len(bases) == 2 and set(bases) <= BASES


def test_copied_sources_exist_and_cover_every_package() -> None:
    copied: set[str] = set()
    for word, arg in instructions():
        if word != "COPY" or arg.startswith("--from="):
            continue
        *sources, _destination = arg.split()
        for source in sources:
            assert (REPO / source).exists(), f"COPY {source}: no such path in the repository"
            copied.add(source)
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    packages = {name.rstrip("*") for name in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    assert packages <= copied, f"packages not copied into the image: {sorted(packages - copied)}"
    assert {"pyproject.toml", project["project"]["readme"]} <= copied


def test_the_dockerignore_lets_every_copied_path_through() -> None:
    ignore = (CONTAINER / "Dockerfile.dockerignore").read_text().splitlines()
    assert "**" in ignore  # everything else stays out of the build context (.git, tests, data)
    for word, arg in instructions():
        if word == "COPY" and not arg.startswith("--from="):
            for source in arg.split()[:-1]:
                assert f"!{source}" in ignore or f"!{source}/" in ignore, source


def test_runs_gslb_unprivileged_with_the_user_the_manifests_expect() -> None:
    found = dict(instructions()[::-1])  # the last of each instruction wins
    assert found["USER"] == "10001:10001"
    assert json.loads(found["ENTRYPOINT"]) == ["gslb"]
    check = check_gslb_arguments(json.loads(found["CMD"]))
    assert check.registered and check.problem is None, check.problem
    for obj in render(KUBERNETES / "base"):
        if obj["kind"] == "Deployment":
            assert obj["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == 10001


def test_exposes_every_port_the_manifests_use() -> None:
    exposed = {
        tuple(port.split("/")) for word, arg in instructions() if word == "EXPOSE" for port in arg.split()
    }
    for container in all_containers(render(KUBERNETES / "base")):
        if is_gslb(container):
            for port in container["ports"]:
                assert (str(port["containerPort"]), port["protocol"].lower()) in exposed, port
