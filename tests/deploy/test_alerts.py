"""The Prometheus alert rules and scrape configuration, checked the way ``promtool check
rules`` would where it can be done without Prometheus: shape, durations, severities, PromQL
brackets, and annotation templates that only use labels the expression keeps."""

from __future__ import annotations

import re
from typing import Any

import pytest

from .deployfiles import (
    ALERTS,
    COMPOSE_CLUSTER,
    PROMETHEUS,
    TARGET_LABELS,
    alert_rules,
    balanced,
    compose,
    grouping_labels,
    load_yaml,
    metric_names,
    without_strings,
)

RULES = alert_rules()
DURATION = re.compile(r"^(\d+(ms|s|m|h|d|w|y))+$")
SEVERITIES = {"critical", "warning", "info"}
TEMPLATE_LABEL = re.compile(r"\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)")


def rule_id(rule: dict[str, Any]) -> str:
    return str(rule["alert"])


def test_alerts_cover_what_the_issue_asks_for() -> None:
    exprs = {rule["alert"]: rule["expr"] for rule in RULES}
    assert len(exprs) == len(RULES), "alert names must be unique"

    def alerting_on(fragment: str) -> list[str]:
        return [name for name, expr in exprs.items() if fragment in expr]

    assert any("time()" in exprs[n] for n in alerting_on("streamvault_latest_segment")), (
        "stream delay: time() - streamvault_latest_segment"
    )
    assert any("max by (channel)" in exprs[n] for n in alerting_on("streamvault_latest_segment"))
    assert alerting_on("streamvault_coverage_holes"), "holes in the last hour"
    assert alerting_on("streamvault_backfill_errors_total"), "backfill errors"
    assert alerting_on("streamvault_backfill_hash_mismatches_total"), "hash mismatches"


def test_rule_groups_are_well_formed() -> None:
    groups = load_yaml(ALERTS)["groups"]
    names = [group["name"] for group in groups]
    assert len(names) == len(set(names))
    for group in groups:
        assert group["rules"], group["name"]
        assert set(group) <= {"name", "rules", "interval", "limit"}


@pytest.mark.parametrize("rule", RULES, ids=rule_id)
def test_rule_is_complete(rule: dict[str, Any]) -> None:
    assert set(rule) <= {"alert", "expr", "for", "keep_firing_for", "labels", "annotations"}
    assert isinstance(rule["expr"], str) and rule["expr"].strip()
    assert DURATION.match(str(rule["for"])), f"bad for: {rule['for']!r}"
    assert rule["labels"]["severity"] in SEVERITIES
    assert rule["annotations"]["summary"].strip()
    assert rule["annotations"]["description"].strip()


@pytest.mark.parametrize("rule", RULES, ids=rule_id)
def test_rule_expression_is_plausible_promql(rule: dict[str, Any]) -> None:
    expr = rule["expr"]
    assert balanced(expr), f"unbalanced brackets: {expr}"
    assert re.search(r"(>|<|==|!=|>=|<=)\s*-?\d", without_strings(expr)), (
        "an alert expression should compare against a threshold"
    )
    for window in re.findall(r"\[([^\]]+)\]", without_strings(expr)):
        assert DURATION.match(window), f"bad range {window!r} in {expr}"
    for counter in (n for n in metric_names(expr) if n.endswith("_total")):
        assert re.search(rf"(rate|increase|irate)\(\s*{counter}\b", expr), (
            f"{counter} is a counter: alert on its rate or increase, not its value"
        )


@pytest.mark.parametrize("rule", RULES, ids=rule_id)
def test_annotations_use_labels_the_expression_keeps(rule: dict[str, Any]) -> None:
    """After ``sum by (a, b)`` only a and b are left; ``{{ $labels.c }}`` would render empty."""
    groupings = grouping_labels(rule["expr"])
    if not groupings:
        return
    kept = groupings[0]
    texts = " ".join(rule["annotations"].values())
    for label in TEMPLATE_LABEL.findall(texts):
        assert label in kept, f"{rule['alert']}: $labels.{label} is dropped by `by {kept}`"


def test_templates_are_closed() -> None:
    for rule in RULES:
        for text in rule["annotations"].values():
            assert text.count("{{") == text.count("}}"), rule["alert"]


def test_prometheus_loads_the_rules_and_scrapes_every_node() -> None:
    config = load_yaml(PROMETHEUS)
    cluster = compose(COMPOSE_CLUSTER)
    prometheus = cluster["services"]["prometheus"]
    mounts = dict(v.rsplit(":", 2)[:2] for v in prometheus["volumes"] if v.startswith("."))
    assert mounts["../prometheus/alerts.yml"] in config["rule_files"]
    assert mounts["../prometheus/prometheus.yml"] == "/etc/prometheus/prometheus.yml"
    nodes = {name for name, s in cluster["services"].items() if "streamvault" in s.get("image", "")}
    job = next(j for j in config["scrape_configs"] if j["job_name"] == "streamvault")
    assert job.get("metrics_path", "/metrics") == "/metrics"
    targets = {t for c in job["static_configs"] for t in c["targets"]}
    assert targets == {f"{name}:8000" for name in nodes}
    for static in job["static_configs"]:
        assert set(static.get("labels", {})) <= TARGET_LABELS
