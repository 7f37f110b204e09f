"""Compose files, Kubernetes manifests and the CI workflow hang together: names that must
match do, every node has its own volume, peers point at each other, and the image is pushed
only from main."""

from __future__ import annotations

import tomllib
from typing import Any

from .deployfiles import (
    COMPOSE_CLUSTER,
    COMPOSE_NODE,
    IMAGE_UID,
    K8S,
    REPO,
    WORKFLOW,
    compose,
    compose_variables,
    k8s_object,
    k8s_objects,
    load_yaml,
)

IMAGE = "ghcr.io/streamvault/streamvault"


def node_services(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n: s for n, s in data["services"].items() if str(s.get("image", "")).startswith(IMAGE)}


def option_values(args: list[str], flag: str) -> list[str]:
    return [args[i + 1] for i, a in enumerate(args) if a == flag]


def test_single_node_compose_needs_only_a_channel() -> None:
    data = compose(COMPOSE_NODE)
    (service,) = node_services(data).values()
    assert (COMPOSE_NODE.parent / service["build"]["context"] / "Dockerfile").is_file()
    assert option_values(service["command"], "--channel") == ["testchannel!"]
    required = {
        v for v in compose_variables(COMPOSE_NODE) if f"${{{v}:?" in COMPOSE_NODE.read_text()
    }
    assert required == {"STREAMVAULT_CHANNEL"}
    (volume,) = service["volumes"]
    name, target = volume.split(":")
    assert target == "/data" and name in data["volumes"]
    assert any(p.endswith(":8000") for p in service["ports"])
    assert service["init"] is True, "PID 1 must reap ffmpeg children and forward SIGTERM"


def test_cluster_nodes_have_own_volumes_and_each_other_as_peers() -> None:
    data = compose(COMPOSE_CLUSTER)
    nodes = node_services(data)
    assert len(nodes) == 3
    volumes = []
    for name, service in nodes.items():
        args = service["command"]
        assert option_values(args, "--localhost") == [name]
        peers = {url.removeprefix("http://").split(":")[0] for url in option_values(args, "--node")}
        assert peers == set(nodes) - {name}, f"{name} must backfill from the other nodes"
        assert all(url.endswith(":8000") for url in option_values(args, "--node"))
        assert len(option_values(args, "--coverage-node")) == 3
        (volume,) = service["volumes"]
        volumes.append(volume.split(":")[0])
        assert volume.endswith(":/data")
        assert service["stop_grace_period"]
    assert len(set(volumes)) == 3, "every node needs its own volume"
    assert set(volumes) <= set(data["volumes"])
    host_ports = [p.split(":")[0] for s in nodes.values() for p in s["ports"]]
    assert len(set(host_ports)) == 3


def test_k8s_kustomization_lists_existing_manifests() -> None:
    kustomization = load_yaml(K8S / "kustomization.yaml")
    listed = set(kustomization["resources"])
    on_disk = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == on_disk
    kinds = {o["kind"] for o in k8s_objects()}
    assert {"StatefulSet", "Service", "ConfigMap"} <= kinds
    assert all(o.get("apiVersion") and o["metadata"].get("name") for o in k8s_objects())


def test_statefulset_volume_per_node_and_headless_peer_discovery() -> None:
    statefulset = k8s_object("StatefulSet")
    spec = statefulset["spec"]
    assert spec["replicas"] >= 3
    headless = k8s_object("Service", spec["serviceName"])
    assert headless["spec"]["clusterIP"] == "None"
    pod_labels = spec["template"]["metadata"]["labels"]
    assert spec["selector"]["matchLabels"].items() <= pod_labels.items()
    for service in (o for o in k8s_objects() if o["kind"] == "Service"):
        assert service["spec"]["selector"].items() <= pod_labels.items()

    (claim,) = spec["volumeClaimTemplates"]
    (container,) = spec["template"]["spec"]["containers"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts[claim["metadata"]["name"]] == "/data"
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]

    configmap = k8s_object("ConfigMap")
    config_volume = next(v for v in spec["template"]["spec"]["volumes"] if "configMap" in v)
    assert config_volume["configMap"]["name"] == configmap["metadata"]["name"]
    assert mounts[config_volume["name"]] == "/etc/streamvault"
    assert container["args"][:3] == ["node", "--config", "/etc/streamvault/node.toml"]
    node_toml = tomllib.loads(configmap["data"]["node.toml"])
    assert node_toml["base_dir"] == "/data"
    assert option_values(container["args"], "--node-dns") == [headless["metadata"]["name"]], (
        "peers come from the headless service"
    )
    assert option_values(container["args"], "--localhost") == ["$(POD_IP)"]
    env = {e["name"]: e for e in container["env"]}
    assert env["POD_IP"]["valueFrom"]["fieldRef"]["fieldPath"] == "status.podIP"


def test_statefulset_probes_and_runs_as_the_image_user() -> None:
    pod = k8s_object("StatefulSet")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports["http"] == 8000
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/files", "port": "http"}
    assert pod["securityContext"]["runAsUser"] == IMAGE_UID
    assert pod["securityContext"]["fsGroup"] == IMAGE_UID, "the volume must be writable"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert "/tmp" in {m["mountPath"] for m in container["volumeMounts"]}
    assert pod["terminationGracePeriodSeconds"] >= 60
    assert container["image"].startswith(IMAGE)


def test_workflow_lints_tests_then_pushes_to_ghcr_from_main() -> None:
    workflow = load_yaml(WORKFLOW)
    on = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert on["push"]["branches"] == ["main"]
    assert "pull_request" in on
    test, image = workflow["jobs"]["test"], workflow["jobs"]["image"]
    assert any(step.get("run", "").strip() == "bash .ci/run" for step in test["steps"])
    assert (REPO / ".ci" / "run").is_file()
    assert image["needs"] == "test"
    assert image["permissions"]["packages"] == "write"
    uses = [step.get("uses", "") for step in image["steps"]]
    for action in ("docker/setup-buildx-action", "docker/login-action", "docker/build-push-action"):
        assert any(u.startswith(action + "@") for u in uses), action
    login = next(s for s in image["steps"] if s.get("uses", "").startswith("docker/login-action"))
    assert login["with"]["registry"] == "ghcr.io"
    pushes = [
        s
        for s in image["steps"]
        if s.get("uses", "").startswith("docker/build-push-action") and s["with"].get("push")
    ]
    assert pushes, "the image must be pushed"
    for step in pushes:
        assert step["if"] == "env.PUSH == 'true'"
    assert "refs/heads/main" in image["env"]["PUSH"]
    assert "github.event_name == 'push'" in image["env"]["PUSH"], "never push from a PR"
