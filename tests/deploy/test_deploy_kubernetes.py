"""The Kubernetes manifests: complete kustomizations, valid against the Kubernetes schemas, probes
and Services wired to what the processes really serve, and sized for 1 CPU / 2 GiB nodes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from deploy_support import (
    GSLB_IMAGE,
    KUBERNETES,
    KUBERNETES_VERSIONS,
    PENDING_COMMANDS,
    UnsupportedKustomization,
    all_containers,
    check_gslb_arguments,
    is_gslb,
    kustomization,
    kustomization_dirs,
    load_yaml_documents,
    pod_spec,
    quantity,
    referenced_files,
    render,
    render_with_components,
    strategic_merge,
)

OVERLAYS = sorted(path.name for path in (KUBERNETES / "overlays").iterdir())
COMPONENTS = sorted(path.name for path in (KUBERNETES / "components").iterdir())
EXAMPLES = sorted((KUBERNETES / "examples").glob("*.yaml"))

# What a 1 CPU / 2 GiB node leaves to pods: kubelet and system reservations and the eviction
# threshold take ~100m and ~300-500 MiB, CNI and kube-proxy daemonsets a little more.
NODE_CPU = 0.9
NODE_MEMORY = 1.5 * 2**30
# Measured: a DNS node with the demo policy; serving 200,000 and a million record sets
# (tests/bench/bench_memory.py, peak while loading); a full forwarding cache (100,000 answers).
SMALL_POLICY_RSS = 80 * 2**20
RECORDS_200K_RSS = 251 * 2**20
MILLION_RECORDS_RSS = 0.9 * 2**30
FULL_FORWARD_CACHE = 66 * 2**20


def find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (found,) = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


def rendered_sets() -> list[tuple[str, list[dict[str, Any]]]]:
    """Every deployable combination: each overlay, and the base with each component alone."""
    sets = [(f"overlays/{name}", render(KUBERNETES / "overlays" / name)) for name in OVERLAYS]
    sets += [
        (f"base+{name}", render_with_components(KUBERNETES / "base", [KUBERNETES / "components" / name]))
        for name in COMPONENTS
    ]
    return sets


RENDERED = rendered_sets()
RENDERED_IDS = [name for name, _ in RENDERED]


def test_the_layout_is_base_components_overlays_examples() -> None:
    assert (KUBERNETES / "base" / "kustomization.yaml").is_file()
    assert OVERLAYS == ["production", "quickstart"]
    assert {"bundled-redis", "dns-autoscaling", "large-policy", "pinned-dns-ip", "public-dns"} <= set(
        COMPONENTS
    )
    assert [path.name for path in EXAMPLES] == ["coredns-configmap.yaml", "pod-dnsconfig.yaml"]
    assert not (KUBERNETES / "examples" / "kustomization.yaml").exists()


def test_every_manifest_is_listed_by_the_kustomization_of_its_directory() -> None:
    manifests = {
        path.resolve()
        for path in KUBERNETES.rglob("*.yaml")
        if path.name != "kustomization.yaml" and path.parent.name != "examples"
    }
    listed: set[Path] = set()
    for directory in kustomization_dirs():
        references = referenced_files(directory)
        for reference in references:
            assert reference.exists(), f"{directory}/kustomization.yaml names missing {reference}"
        local = {path.resolve() for path in directory.glob("*.yaml") if path.name != "kustomization.yaml"}
        assert local <= references, f"{directory}: not listed: {sorted(p.name for p in local - references)}"
        listed |= references
    assert manifests <= listed
    # Every directory holding manifests is a kustomization (examples excepted).
    for path in manifests:
        assert (path.parent / "kustomization.yaml").exists(), path


def test_every_component_is_used_or_documented() -> None:
    readme = (KUBERNETES / "README.md").read_text()
    for name in COMPONENTS:
        assert f"components/{name}" in readme, f"components/{name} is not described in the README"


@pytest.mark.parametrize(("name", "objects"), RENDERED, ids=RENDERED_IDS)
@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_rendered_objects_validate_strictly(name: str, objects: list[dict[str, Any]], version: str) -> None:
    version = kubernetes_validate.latest_version() if version == "latest" else version
    for obj in objects:
        # strict: unknown fields are errors, as `kubectl apply --validate=strict` makes them.
        kubernetes_validate.validate(obj, version, strict=True)


@pytest.mark.parametrize("path", EXAMPLES, ids=[path.name for path in EXAMPLES])
def test_examples_validate_strictly(path: Path) -> None:
    for obj in load_yaml_documents(path):
        kubernetes_validate.validate(obj, KUBERNETES_VERSIONS[0], strict=True)


def test_the_validator_really_refuses_bad_manifests() -> None:
    deployment = find(render(KUBERNETES / "base"), "Deployment", "gslb-dns")
    typo = strategic_merge(deployment, {"spec": {"replicsa": 2}})
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(typo, KUBERNETES_VERSIONS[0], strict=True)
    wrong_type = strategic_merge(deployment, {"spec": {"replicas": "two"}})
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(wrong_type, KUBERNETES_VERSIONS[0], strict=True)


def test_the_renderer_refuses_what_it_does_not_understand(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("kind: Kustomization\nnamePrefix: x-\nresources: []\n")
    with pytest.raises(UnsupportedKustomization, match="namePrefix"):
        kustomization(tmp_path)


def test_each_overlay_defines_the_store_secret_the_tiers_read() -> None:
    for name in OVERLAYS:
        objects = render(KUBERNETES / "overlays" / name)
        secrets = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Secret"}
        assert "GSLB_REDIS_URL" in secrets["gslb-store"]["stringData"], name
        for container in all_containers(objects):
            if is_gslb(container):
                refs = [ref["secretRef"]["name"] for ref in container.get("envFrom", [])]
                assert "gslb-store" in refs, container["name"]


def test_gslb_containers_run_commands_their_parsers_accept() -> None:
    seen = set()
    for _name, objects in RENDERED:
        for container in all_containers(objects):
            if not is_gslb(container):
                continue
            check = check_gslb_arguments(container["args"])
            seen.add(check.command)
            if check.registered:
                assert check.problem is None, (
                    f"{container['name']}: gslb {container['args']}: {check.problem}"
                )
            else:
                assert check.command in PENDING_COMMANDS, f"gslb {check.command} does not exist"
    assert seen == {"dns", "api", "health"}


def _served_paths(command: str) -> frozenset[str]:
    """The paths a command's HTTP endpoint serves, taken from the real code where it exists."""
    if command in ("dns", "serve"):
        from gslb.commands.status_http import status_app

        app = status_app(feed=None, store_description="")
        return frozenset(
            route.resource.canonical
            for route in app.router.routes()
            if route.method == "GET" and route.resource is not None
        )
    try:  # the REST API: probes carry no token, so they must be among its public paths
        from gslb.api.app import PUBLIC_PATHS  # type: ignore[import-not-found,unused-ignore]

        if command == "api":
            return frozenset(PUBLIC_PATHS)
    except ImportError:
        pass
    return PENDING_COMMANDS[command][1]


def test_probes_use_declared_ports_and_paths_the_process_serves() -> None:
    probed = 0
    for _name, objects in RENDERED:
        for container in all_containers(objects):
            ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
            for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
                probe = container.get(kind)
                if probe is None:
                    continue
                if "httpGet" in probe:
                    port = probe["httpGet"]["port"]
                    assert port in ports or port in ports.values(), f"{container['name']} {kind}: port {port}"
                    served = _served_paths(container["args"][0])
                    assert probe["httpGet"]["path"] in served, f"{container['name']} {kind}"
                    probed += 1
                elif "tcpSocket" in probe:
                    assert probe["tcpSocket"]["port"] in ports
                else:
                    assert "exec" in probe
            if is_gslb(container):
                assert {"readinessProbe", "livenessProbe"} <= set(container), container["name"]
    assert probed >= 7


def test_http_probes_and_scrape_annotations_agree_with_the_command_line() -> None:
    for _name, objects in RENDERED:
        for obj in objects:
            spec = pod_spec(obj)
            if spec is None:
                continue
            annotations = obj["spec"]["template"]["metadata"].get("annotations", {})
            for container in spec["containers"]:
                if not is_gslb(container):
                    continue
                args = container["args"]
                option = "--listen" if args[0] == "api" else "--http"
                http_port = int(args[args.index(option) + 1].rpartition(":")[2])
                assert {"name": "http", "containerPort": http_port, "protocol": "TCP"} in container["ports"]
                assert annotations["prometheus.io/port"] == str(http_port)
                assert annotations["prometheus.io/path"] in _served_paths(args[0])


def test_dns_listens_on_the_ports_its_container_declares() -> None:
    deployment = find(render(KUBERNETES / "base"), "Deployment", "gslb-dns")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    args = container["args"]
    port = int(args[args.index("--listen") + 1].rpartition(":")[2])
    declared = {(p["containerPort"], p["protocol"]) for p in container["ports"]}
    assert {(port, "UDP"), (port, "TCP")} <= declared
    # Non-root without capabilities: the pod port must not need CAP_NET_BIND_SERVICE.
    assert port >= 1024


def test_services_select_pods_and_name_their_ports() -> None:
    for _name, objects in RENDERED:
        pods = [(o["spec"]["template"]["metadata"]["labels"], pod_spec(o)) for o in objects if pod_spec(o)]
        for service in (o for o in objects if o["kind"] == "Service"):
            selector = service["spec"]["selector"]
            matching = [spec for labels, spec in pods if spec and selector.items() <= labels.items()]
            assert matching, f"Service {service['metadata']['name']} selects no pod"
            for port in service["spec"]["ports"]:
                for spec in matching:
                    names = {
                        (p["name"], p["protocol"]) for c in spec["containers"] for p in c.get("ports", [])
                    }
                    assert (port["targetPort"], port["protocol"]) in names, port


def test_workloads_select_their_own_pods() -> None:
    for _name, objects in RENDERED:
        for obj in objects:
            if obj["kind"] == "HorizontalPodAutoscaler":
                target = obj["spec"]["scaleTargetRef"]
                scaled = find(objects, target["kind"], target["name"])
                assert obj["spec"]["minReplicas"] <= scaled["spec"]["replicas"] <= obj["spec"]["maxReplicas"]
            if obj["kind"] in ("Deployment", "StatefulSet"):
                labels = obj["spec"]["template"]["metadata"]["labels"]
                assert obj["spec"]["selector"]["matchLabels"].items() <= labels.items()
            if obj["kind"] == "PodDisruptionBudget":
                selector = obj["spec"]["selector"]["matchLabels"]
                assert any(
                    selector.items() <= o["spec"]["template"]["metadata"]["labels"].items()
                    for o in objects
                    if o["kind"] == "Deployment"
                )


def test_pods_meet_the_restricted_pod_security_standard() -> None:
    for _name, objects in RENDERED:
        for obj in objects:
            spec = pod_spec(obj)
            if spec is None:
                continue
            assert spec["securityContext"]["runAsNonRoot"] is True
            assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
            assert spec.get("automountServiceAccountToken") is False
            for container in spec["containers"]:
                context = container["securityContext"]
                assert context["allowPrivilegeEscalation"] is False
                assert context["capabilities"]["drop"] == ["ALL"]
                assert "add" not in context["capabilities"]
                assert context["readOnlyRootFilesystem"] is True


def _requests(objects: list[dict[str, Any]]) -> tuple[float, float]:
    cpu = memory = 0.0
    for container in all_containers(objects):
        cpu += quantity(container["resources"]["requests"]["cpu"])
        memory += quantity(container["resources"]["requests"]["memory"])
    return cpu, memory


def test_every_container_has_requests_and_a_memory_limit_above_them() -> None:
    for _name, objects in RENDERED:
        for container in all_containers(objects):
            resources = container["resources"]
            for resource in ("cpu", "memory"):
                request = quantity(resources["requests"][resource])
                assert 0 < request <= quantity(resources["limits"][resource]), (container["name"], resource)


@pytest.mark.parametrize(("name", "objects"), RENDERED, ids=RENDERED_IDS)
def test_one_replica_of_every_tier_fits_one_small_node(name: str, objects: list[dict[str, Any]]) -> None:
    # The worst placement: one pod of each workload on the same 1 CPU / 2 GiB node.
    cpu, memory = _requests(objects)
    assert cpu <= NODE_CPU, f"{name}: {cpu:.2f} CPU requested"
    assert memory <= NODE_MEMORY, f"{name}: {memory / 2**20:.0f} MiB requested"


def test_memory_limits_follow_the_measured_dns_footprint() -> None:
    def dns_resources(objects: list[dict[str, Any]]) -> dict[str, Any]:
        (container,) = [c for c in all_containers(objects) if c["name"] == "dns"]
        resources: dict[str, Any] = container["resources"]
        return resources

    base = dns_resources(render(KUBERNETES / "base"))
    # A small policy with a full forwarding cache fits the request, 200,000 record sets the limit.
    assert quantity(base["requests"]["memory"]) >= SMALL_POLICY_RSS + FULL_FORWARD_CACHE
    assert quantity(base["limits"]["memory"]) >= 1.4 * (RECORDS_200K_RSS + FULL_FORWARD_CACHE)
    large = dns_resources(
        render_with_components(KUBERNETES / "base", [KUBERNETES / "components" / "large-policy"])
    )
    # A million record sets fit the request, with headroom to the limit for a reload.
    assert quantity(large["requests"]["memory"]) >= MILLION_RECORDS_RSS + FULL_FORWARD_CACHE
    assert quantity(large["limits"]["memory"]) >= 1.3 * (MILLION_RECORDS_RSS + FULL_FORWARD_CACHE)
    assert quantity(large["limits"]["memory"]) < 2 * 2**30


def test_gslb_images_are_rewritten_by_the_production_overlay() -> None:
    images = {c["image"] for c in all_containers(render(KUBERNETES / "overlays" / "production"))}
    assert images == {"registry.example.net/gslb:0.1.0"}
    images = {c["image"] for c in all_containers(render(KUBERNETES / "overlays" / "quickstart"))}
    assert images == {f"{GSLB_IMAGE}:0.1.0", "redis:7.2-bookworm"}


def test_the_pod_example_and_coredns_stanza_use_the_pinned_service_address() -> None:
    (patch,) = load_yaml_documents(KUBERNETES / "components" / "pinned-dns-ip" / "dns-service-ip.yaml")
    address = patch["spec"]["clusterIP"]
    (pod,) = load_yaml_documents(KUBERNETES / "examples" / "pod-dnsconfig.yaml")
    assert pod["spec"]["dnsPolicy"] == "None"
    assert pod["spec"]["dnsConfig"]["nameservers"] == [address]
    (coredns,) = load_yaml_documents(KUBERNETES / "examples" / "coredns-configmap.yaml")
    corefile = coredns["data"]["Corefile"]
    assert f"forward . {address}" in corefile
    # The default server block is kept: the stanza adds a zone, it does not replace cluster DNS.
    assert "kubernetes cluster.local" in corefile
