"""What the deployment tests share: file locations, a small kustomize renderer, quantities, commands.

No kustomize binary is available in CI, so the tests render the kustomizations themselves. The
renderer supports exactly the kustomization features the files under deploy/kubernetes use
(resources, components, patches by file, namespace, images) and refuses any other key, so a new
feature cannot be silently ignored: teach it here first. Its output was compared with
`kubectl kustomize` (kustomize v5.5) for every overlay when it was written.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
KUBERNETES = DEPLOY / "kubernetes"
SYSTEMD = DEPLOY / "systemd"
CONTAINER = DEPLOY / "container"
GRAFANA = DEPLOY / "grafana"

# The schemas every manifest is checked against: the oldest Kubernetes minor still widely run
# (1.31) and the newest the installed kubernetes-validate ships.
KUBERNETES_VERSIONS = ("1.31.0", "latest")

KUSTOMIZATION_KEYS = {"apiVersion", "kind", "namespace", "resources", "components", "patches", "images"}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume", "StorageClass"}
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet"}

# The image the gslb workloads run (its name before an overlay's `images:` rewrites it).
GSLB_IMAGE = "gslb"

# Commands of components not merged on this branch yet: the paths their probes use, as the issue
# that brings the command describes them. Once a command is registered in `gslb`, the tests parse
# the manifests' and units' arguments with its real parser instead of trusting this table.
PENDING_COMMANDS: dict[str, tuple[int, frozenset[str]]] = {
    "health": (4, frozenset({"/healthz", "/readyz", "/metrics"})),
    "api": (5, frozenset({"/healthz", "/readyz", "/metrics"})),
    "anycast": (6, frozenset()),
    "l4": (8, frozenset()),
    "proxy": (9, frozenset()),
}


class UnsupportedKustomization(Exception):
    pass


def load_yaml_documents(path: Path) -> list[dict[str, Any]]:
    with path.open() as stream:
        return [doc for doc in yaml.safe_load_all(stream) if doc is not None]


def kustomization_dirs() -> list[Path]:
    return sorted(path.parent for path in KUBERNETES.rglob("kustomization.yaml"))


def kustomization(directory: Path) -> dict[str, Any]:
    (doc,) = load_yaml_documents(directory / "kustomization.yaml")
    unknown = set(doc) - KUSTOMIZATION_KEYS
    if unknown:
        raise UnsupportedKustomization(
            f"{directory / 'kustomization.yaml'}: keys {sorted(unknown)} are not understood by "
            "tests/deploy/deploy_support.py; teach its renderer before using them"
        )
    return doc


def referenced_files(directory: Path) -> set[Path]:
    """Every file or directory a kustomization names (resources, components, patches)."""
    doc = kustomization(directory)
    names = [*doc.get("resources", []), *doc.get("components", [])]
    names += [patch["path"] for patch in doc.get("patches", [])]
    return {(directory / name).resolve() for name in names}


def render(directory: Path) -> list[dict[str, Any]]:
    """The objects `kustomize build directory` produces (for the features listed above)."""
    doc = kustomization(directory)
    if doc.get("kind") != "Kustomization":
        raise UnsupportedKustomization(f"{directory}: a {doc.get('kind')} cannot be built on its own")
    objects = _resources(directory, doc)
    _apply(directory, doc, objects)
    return objects


def render_with_components(directory: Path, components: list[Path]) -> list[dict[str, Any]]:
    """`directory` built with extra components, as an overlay listing them would be."""
    objects = render(directory)
    for component in components:
        _component(component, objects)
    return objects


def _resources(directory: Path, doc: dict[str, Any]) -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = []
    for name in doc.get("resources", []):
        path = directory / name
        objects += render(path) if path.is_dir() else load_yaml_documents(path)
    return objects


def _apply(directory: Path, doc: dict[str, Any], objects: list[dict[str, Any]]) -> None:
    for name in doc.get("components", []):
        _component(directory / name, objects)
    for patch in doc.get("patches", []):
        if set(patch) != {"path"}:
            raise UnsupportedKustomization(f"{directory}: only `patches: - path: FILE` is supported")
        for patch_doc in load_yaml_documents(directory / patch["path"]):
            _patch(objects, patch_doc, directory / patch["path"])
    if "namespace" in doc:
        for obj in objects:
            if obj["kind"] not in CLUSTER_SCOPED:
                obj.setdefault("metadata", {})["namespace"] = doc["namespace"]
    for image in doc.get("images", []):
        for container in all_containers(objects):
            name, _, _tag = container["image"].partition(":")
            if name == image["name"]:
                container["image"] = f"{image.get('newName', name)}:{image['newTag']}"


def _component(directory: Path, objects: list[dict[str, Any]]) -> None:
    doc = kustomization(directory)
    if doc.get("kind") != "Component":
        raise UnsupportedKustomization(f"{directory} is listed as a component but is a {doc.get('kind')}")
    objects += _resources(directory, doc)
    _apply(directory, doc, objects)


def _patch(objects: list[dict[str, Any]], patch: dict[str, Any], where: Path) -> None:
    targets = [
        index
        for index, obj in enumerate(objects)
        if obj["kind"] == patch["kind"] and obj["metadata"]["name"] == patch["metadata"]["name"]
    ]
    if len(targets) != 1:
        raise AssertionError(f"{where}: patch matches {len(targets)} objects, not one")
    objects[targets[0]] = strategic_merge(objects[targets[0]], patch)


def strategic_merge(base: Any, patch: Any) -> Any:
    """Kubernetes strategic merge for what our patches touch: maps merge, lists of named items merge
    by name (containers, ports, env, volumes), other lists and scalars are replaced."""
    if isinstance(patch, dict):
        if any(str(key).startswith("$") for key in patch):
            raise UnsupportedKustomization(f"patch directives are not supported: {sorted(patch)}")
        if not isinstance(base, dict):
            return copy.deepcopy(patch)
        merged = dict(base)
        for key, value in patch.items():
            merged[key] = strategic_merge(base[key], value) if key in base else copy.deepcopy(value)
        return merged
    if isinstance(patch, list) and isinstance(base, list) and _named(patch) and _named(base):
        by_name = {item["name"]: item for item in base}
        merged_list = [strategic_merge(by_name[i["name"]], i) if i["name"] in by_name else i for i in patch]
        patched = {item["name"] for item in patch}
        return [item for item in base if item["name"] not in patched] + merged_list
    return copy.deepcopy(patch)


def _named(items: list[Any]) -> bool:
    return all(isinstance(item, dict) and "name" in item for item in items)


def pod_spec(obj: dict[str, Any]) -> dict[str, Any] | None:
    if obj["kind"] in WORKLOAD_KINDS:
        spec: dict[str, Any] = obj["spec"]["template"]["spec"]
        return spec
    if obj["kind"] == "Pod":
        pod: dict[str, Any] = obj["spec"]
        return pod
    return None


def all_containers(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    containers: list[dict[str, Any]] = []
    for obj in objects:
        spec = pod_spec(obj)
        if spec is not None:
            containers += spec.get("containers", []) + spec.get("initContainers", [])
    return containers


def is_gslb(container: dict[str, Any]) -> bool:
    return bool(container["image"].split(":")[0] == GSLB_IMAGE)


_QUANTITY = re.compile(r"^([0-9.]+)(m|Ki|Mi|Gi|Ti|k|M|G)?$")
_FACTORS = {
    None: 1,
    "m": 0.001,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
}


def quantity(text: str | int | float) -> float:
    """A Kubernetes quantity ("300m", "1", "256Mi") as a number (cores or bytes)."""
    match = _QUANTITY.match(str(text))
    if match is None:
        raise ValueError(f"{text!r} is not a quantity")
    return float(match.group(1)) * _FACTORS[match.group(2)]


@dataclass(frozen=True)
class CommandCheck:
    command: str
    registered: bool
    problem: str | None  # the parser's complaint, when registered and the arguments are refused


def check_gslb_arguments(argv: list[str]) -> CommandCheck:
    """Parse `gslb ARGV` with the real command-line parser, without running anything."""
    from gslb.cli import build_parser

    parser = build_parser()
    command = argv[0]
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    if command not in subparsers.choices:
        return CommandCheck(command, registered=False, problem=None)
    problems: list[str] = []

    def refuse(message: str) -> None:
        problems.append(message)
        raise SystemExit(2)

    for sub in (parser, *subparsers.choices.values()):
        sub.error = refuse  # type: ignore[method-assign]
    with contextlib.suppress(SystemExit):  # refuse() has recorded the parser's complaint
        parser.parse_args(argv)
    return CommandCheck(command, registered=True, problem="; ".join(problems) or None)


def split_command_line(text: str) -> list[str]:
    return shlex.split(text)
