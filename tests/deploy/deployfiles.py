"""Reading the deployment files the way their tools would: which files exist, the
``streamvault`` command lines they run, compose variable interpolation, and light PromQL
helpers (metric names, balanced brackets, aggregation labels).

No container engine runs here, so the tests check these files statically and against a real
node (``test_live.py``).
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
DOCKERFILE = REPO / "Dockerfile"
WORKFLOW = REPO / ".github" / "workflows" / "ci.yml"
COMPOSE_NODE = DEPLOY / "compose" / "node.yml"
COMPOSE_CLUSTER = DEPLOY / "compose" / "cluster.yml"
K8S = DEPLOY / "k8s"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
PROMETHEUS = DEPLOY / "prometheus" / "prometheus.yml"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "streamvault.json"
IMAGE_CONFIG = DEPLOY / "docker" / "node.toml"

IMAGE_UID = 10001

#: Values given to compose variables whose value the operator must supply.
REQUIRED_VALUES = {"STREAMVAULT_CHANNEL": "testchannel!"}


def yaml_files() -> list[Path]:
    files = [WORKFLOW, *DEPLOY.rglob("*.yml"), *DEPLOY.rglob("*.yaml")]
    return sorted(set(files))


def json_files() -> list[Path]:
    return sorted(DEPLOY.rglob("*.json"))


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def load_yaml_all(path: Path) -> list[Any]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def k8s_objects() -> list[dict[str, Any]]:
    """Every object of the manifests the kustomization lists, in order."""
    kustomization = load_yaml(K8S / "kustomization.yaml")
    objects: list[dict[str, Any]] = []
    for name in kustomization["resources"]:
        objects.extend(load_yaml_all(K8S / name))
    return objects


def k8s_object(kind: str, name: str | None = None) -> dict[str, Any]:
    found = [
        o
        for o in k8s_objects()
        if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)
    ]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


# --- compose --------------------------------------------------------------------------------

_VARIABLE = re.compile(r"\$\{(?P<name>[A-Z0-9_]+)(?:(?P<op>:-|:\?|-|\?)(?P<arg>[^}]*))?\}")


def interpolate(text: str, env: dict[str, str] | None = None) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}`` and ``${VAR:?error}``; a required variable
    without a value takes its entry in :data:`REQUIRED_VALUES` (or fails)."""
    env = env or {}

    def substitute(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        if name in env:
            return env[name]
        if op in (":-", "-"):
            return arg
        if op in (":?", "?"):
            assert name in REQUIRED_VALUES, f"required variable {name} has no test value"
            return REQUIRED_VALUES[name]
        return ""

    return _VARIABLE.sub(substitute, text)


def compose(path: Path) -> dict[str, Any]:
    """The compose file with its variables interpolated and YAML merge keys applied."""
    data = yaml.safe_load(interpolate(path.read_text(encoding="utf-8")))
    assert isinstance(data, dict)
    return data


def compose_variables(path: Path) -> set[str]:
    return {m["name"] for m in _VARIABLE.finditer(path.read_text(encoding="utf-8"))}


# --- streamvault command lines ----------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    logical: list[str] = []
    current = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        logical.append(current + line)
        current = ""
    result = []
    for line in logical:
        instruction, _, rest = line.partition(" ")
        result.append((instruction.upper(), rest.strip()))
    return result


def dockerfile_exec_form(instruction: str) -> list[str]:
    """The JSON array of the last ``instruction`` (CMD, ENTRYPOINT, HEALTHCHECK's CMD)."""
    found = [rest for name, rest in dockerfile_instructions() if name == instruction]
    assert found, f"no {instruction} in the Dockerfile"
    text = found[-1]
    if instruction == "HEALTHCHECK":
        text = text[text.index("CMD") + 3 :].strip()
    value = json.loads(text)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value)
    return value


def streamvault_commands() -> Iterator[tuple[str, list[str]]]:
    """Every ``streamvault`` argument list the deployment files run, with where it is from.

    The image's entrypoint is ``streamvault``, so a compose ``command`` or a Kubernetes
    ``args`` list is a streamvault argument list, as is the Dockerfile's CMD; the workflow's
    ``docker run IMAGE ...`` lines are too.
    """
    yield "Dockerfile CMD", dockerfile_exec_form("CMD")
    for path in (COMPOSE_NODE, COMPOSE_CLUSTER):
        for name, service in compose(path)["services"].items():
            if "streamvault" in str(service.get("image", "")):
                yield f"{path.name}:{name}", [str(a) for a in service["command"]]
    statefulset = k8s_object("StatefulSet")
    for container in statefulset["spec"]["template"]["spec"]["containers"]:
        args = [a.replace("$(POD_IP)", "10.1.2.3") for a in container["args"]]
        yield f"statefulset:{container['name']}", args
    for step_run in workflow_runs():
        for line in step_run.splitlines():
            words = shlex.split(line.rstrip("\\"))
            if words[:2] == ["docker", "run"] and "--entrypoint" not in words:
                image = next(i for i, w in enumerate(words) if w.startswith("streamvault:"))
                yield f"workflow: {line.strip()}", words[image + 1 :]


def workflow_runs() -> list[str]:
    workflow = load_yaml(WORKFLOW)
    return [
        step["run"] for job in workflow["jobs"].values() for step in job["steps"] if "run" in step
    ]


def flags_of(args: list[str]) -> list[str]:
    """The ``--flags`` in an argument list (``--a=b`` counts as ``--a``)."""
    return [a.split("=", 1)[0] for a in args if a.startswith("--")]


# --- PromQL, lightly ------------------------------------------------------------------------

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_METRIC = re.compile(r"\bstreamvault_[a-zA-Z0-9_:]+")
_BY = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")
_PAIRS = {")": "(", "]": "[", "}": "{"}


def without_strings(expr: str) -> str:
    return _STRING.sub('""', expr)


def balanced(expr: str) -> bool:
    stack: list[str] = []
    for char in without_strings(expr):
        if char in "([{":
            stack.append(char)
        elif char in _PAIRS and (not stack or stack.pop() != _PAIRS[char]):
            return False
    return not stack


def metric_names(expr: str) -> set[str]:
    """The ``streamvault_*`` series an expression selects (label values are not names)."""
    return set(_METRIC.findall(without_strings(expr)))


def grouping_labels(expr: str) -> list[set[str]]:
    """The label lists of every ``by (...)`` in the expression, outermost first."""
    return [
        {label.strip() for label in m.group(1).split(",") if label.strip()}
        for m in _BY.finditer(without_strings(expr))
    ]


def exposed_names(metrics_text: str) -> set[str]:
    """Every series name a Prometheus server could select from a ``/metrics`` page.

    Counters appear as ``NAME_total`` (and ``NAME_created``), histograms as ``NAME_bucket``,
    ``NAME_sum`` and ``NAME_count``, gauges and info metrics as themselves; a family declared
    by ``# TYPE`` counts even before its first sample (a labelled counter nothing has
    incremented yet).
    """
    names: set[str] = set()
    for line in metrics_text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(maxsplit=3)
            if kind == "histogram":
                names.update(f"{name}{suffix}" for suffix in ("_bucket", "_sum", "_count"))
            elif kind == "summary":
                names.update((name, f"{name}_sum", f"{name}_count"))
            elif kind == "counter" and not name.endswith("_total"):
                names.add(f"{name}_total")
            else:
                names.add(name)
        elif line and not line.startswith("#"):
            names.add(re.split(r"[{\s]", line, maxsplit=1)[0])
    return names


def sampled_names(metrics_text: str) -> set[str]:
    """Series names that have at least one sample on the page."""
    return {
        re.split(r"[{\s]", line, maxsplit=1)[0]
        for line in metrics_text.splitlines()
        if line and not line.startswith("#")
    }


def family_names(metrics_text: str) -> set[str]:
    """The metric families on the page, named as the docs name them (counters with _total).

    prometheus-client also declares a ``NAME_created`` gauge beside each counter and
    histogram (the time it was created); those are left out.
    """
    declared = {}
    for line in metrics_text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(maxsplit=3)
            if kind == "counter" and not name.endswith("_total"):
                name += "_total"
            declared[name] = kind
    return {
        name
        for name in declared
        if not (
            name.endswith("_created")
            and {name.removesuffix("_created"), name.removesuffix("_created") + "_total"}
            & declared.keys()
        )
    }


def dashboard_exprs() -> list[tuple[str, str]]:
    """(panel title, expr) for every query of the dashboard, and the variables' queries."""
    dashboard = load_json(DASHBOARD)
    found = []
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            found.append((panel["title"], target["expr"]))
    for variable in dashboard["templating"]["list"]:
        query = variable.get("query")
        if isinstance(query, dict):
            found.append((f"variable {variable['name']}", query["query"]))
    return found


def alert_rules() -> list[dict[str, Any]]:
    return [rule for group in load_yaml(ALERTS)["groups"] for rule in group["rules"]]


def used_metric_names() -> dict[str, set[str]]:
    """metric name -> where it is used (dashboard panels and alert rules)."""
    used: dict[str, set[str]] = {}
    for title, expr in dashboard_exprs():
        for name in metric_names(expr):
            used.setdefault(name, set()).add(f"dashboard: {title}")
    for rule in alert_rules():
        for name in metric_names(rule["expr"]):
            used.setdefault(name, set()).add(f"alert: {rule['alert']}")
    return used


#: Labels Prometheus adds to every scraped series (the compose cluster adds ``node``).
TARGET_LABELS = frozenset({"instance", "job", "node"})

_SELECTOR = re.compile(r"\b(streamvault_[a-zA-Z0-9_:]+)\s*(\{[^}]*\})?")
_LABEL_PAIR = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
_MATCHER = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")


def selectors(expr: str) -> list[tuple[str, set[str]]]:
    """(metric name, label names its matchers use) for every ``streamvault_*`` selector."""
    found = []
    for match in _SELECTOR.finditer(expr):
        matchers = match.group(2) or ""
        found.append((match.group(1), set(_MATCHER.findall(without_strings(matchers)))))
    return found


def series_labels(metrics_text: str) -> dict[str, set[str]]:
    """Series name -> the label names its samples carry on a ``/metrics`` page."""
    labels: dict[str, set[str]] = {}
    for line in metrics_text.splitlines():
        if not line or line.startswith("#"):
            continue
        name, _, rest = line.partition("{")
        names = {pair[0] for pair in _LABEL_PAIR.findall(rest)}
        labels.setdefault(name.split()[0], set()).update(names)
    return labels
