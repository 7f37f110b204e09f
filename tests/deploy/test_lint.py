"""The deployment files checked by the tools their ecosystems use, offline: hadolint for the
Dockerfile, the published JSON schemas of GitHub workflows and the Compose specification
(vendored by check-jsonschema), and the Kubernetes API's own models for the manifests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes.client
import pytest

from .deployfiles import COMPOSE_CLUSTER, COMPOSE_NODE, DOCKERFILE, WORKFLOW, k8s_objects

BIN = Path(sys.executable).parent


def run_tool(*argv: str) -> subprocess.CompletedProcess[str]:
    tool = BIN / argv[0]
    assert tool.exists(), f"{argv[0]} is missing: pip install -e '.[dev]'"
    return subprocess.run(
        [str(tool), *argv[1:]], capture_output=True, text=True, timeout=120, check=False
    )


def test_hadolint_finds_nothing() -> None:
    done = run_tool("hadolint", "--no-color", str(DOCKERFILE))
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("schema", "path"),
    [
        ("vendor.github-workflows", WORKFLOW),
        ("vendor.compose-spec", COMPOSE_NODE),
        ("vendor.compose-spec", COMPOSE_CLUSTER),
    ],
    ids=["workflow", "compose-node", "compose-cluster"],
)
def test_file_matches_its_published_schema(schema: str, path: Path) -> None:
    done = run_tool("check-jsonschema", "--builtin-schema", schema, str(path))
    assert done.returncode == 0, done.stdout + done.stderr


# --- Kubernetes: every field must exist in the API (kubectl's strict validation) -----------

_PRIMITIVES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "object": (object,),  # IntOrString, raw extensions
    "datetime": (str,),
    "date": (str,),
    "bytes": (str,),
}


def schema_errors(value: Any, type_name: str, path: str) -> list[str]:
    if type_name.startswith(("list[", "List[")):
        if not isinstance(value, list):
            return [f"{path}: expected a list"]
        inner = type_name[5:-1]
        return [e for i, v in enumerate(value) for e in schema_errors(v, inner, f"{path}[{i}]")]
    if type_name.startswith(("dict(", "Dict[")):
        if not isinstance(value, dict):
            return [f"{path}: expected a mapping"]
        inner = type_name[5:-1].split(", ", 1)[1]
        return [e for k, v in value.items() for e in schema_errors(v, inner, f"{path}.{k}")]
    if type_name in _PRIMITIVES:
        kinds = _PRIMITIVES[type_name]
        if isinstance(value, bool) and bool not in kinds and object not in kinds:
            return [f"{path}: expected {type_name}, got a boolean"]
        return [] if isinstance(value, kinds) else [f"{path}: expected {type_name}"]
    model = getattr(kubernetes.client, type_name)
    if not isinstance(value, dict):
        return [f"{path}: expected a {type_name} mapping"]
    fields = {json_name: name for name, json_name in model.attribute_map.items()}
    errors = []
    for key, item in value.items():
        if key not in fields:
            errors.append(f"{path}.{key}: no such field in {type_name}")
        else:
            errors += schema_errors(item, model.openapi_types[fields[key]], f"{path}.{key}")
    return errors


def model_name(obj: dict[str, Any]) -> str:
    version = obj["apiVersion"].rsplit("/", 1)[-1]
    return f"{version[0].upper()}{version[1:]}{obj['kind']}"


@pytest.mark.parametrize("obj", k8s_objects(), ids=lambda o: f"{o['kind']}/{o['metadata']['name']}")
def test_manifest_fields_exist_in_the_kubernetes_api(obj: dict[str, Any]) -> None:
    errors = schema_errors(obj, model_name(obj), obj["kind"])
    assert not errors, "\n".join(errors)


def test_the_schema_check_catches_a_misspelled_field() -> None:
    statefulset = next(o for o in k8s_objects() if o["kind"] == "StatefulSet")
    spec = dict(statefulset["spec"])
    spec["volumeClaimTemplate"] = spec.pop("volumeClaimTemplates")
    errors = schema_errors({**statefulset, "spec": spec}, "V1StatefulSet", "StatefulSet")
    assert errors == ["StatefulSet.spec.volumeClaimTemplate: no such field in V1StatefulSetSpec"]
