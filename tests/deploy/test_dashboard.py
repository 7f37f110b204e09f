"""The Grafana dashboard and its provisioning: what Grafana needs to load it unattended, and
queries that are well formed (their metric names are checked against a live node in
``test_live.py``)."""

from __future__ import annotations

import re
from typing import Any

from .deployfiles import (
    COMPOSE_CLUSTER,
    DASHBOARD,
    DEPLOY,
    balanced,
    compose,
    dashboard_exprs,
    load_json,
    load_yaml,
)

GRAFANA = DEPLOY / "grafana"


def panels() -> list[dict[str, Any]]:
    return [p for p in load_json(DASHBOARD)["panels"] if p["type"] != "row"]


def test_dashboard_identity() -> None:
    dashboard = load_json(DASHBOARD)
    assert dashboard["uid"] == "streamvault"
    assert dashboard["title"]
    assert isinstance(dashboard["schemaVersion"], int)
    assert "id" not in dashboard or dashboard["id"] is None, "provisioned dashboards have no id"


def test_every_panel_queries_prometheus() -> None:
    found = panels()
    assert len(found) >= 12
    ids = [p["id"] for p in load_json(DASHBOARD)["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in found:
        assert panel["title"]
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["targets"], panel["title"]
        ref_ids = [t["refId"] for t in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids)), panel["title"]
        for target in panel["targets"]:
            assert target["expr"].strip()


def test_queries_are_balanced_and_use_defined_variables() -> None:
    dashboard = load_json(DASHBOARD)
    defined = {v["name"] for v in dashboard["templating"]["list"]}
    builtin = {"__rate_interval", "__interval", "__range"}
    for title, expr in dashboard_exprs():
        assert balanced(expr), f"{title}: unbalanced brackets in {expr}"
        for variable in re.findall(r"\$\{?([a-zA-Z_]+)", expr):
            assert variable in defined | builtin, f"{title}: ${variable} is not defined"


def test_panels_fit_the_grid_without_overlapping() -> None:
    cells: dict[tuple[int, int], str] = {}
    for panel in load_json(DASHBOARD)["panels"]:
        pos = panel["gridPos"]
        assert pos["x"] >= 0 and pos["w"] > 0 and pos["x"] + pos["w"] <= 24, panel["title"]
        for x in range(pos["x"], pos["x"] + pos["w"]):
            for y in range(pos["y"], pos["y"] + pos["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps {cells[(x, y)]}"
                cells[(x, y)] = panel["title"]


def test_provisioning_points_grafana_at_prometheus_and_the_dashboard() -> None:
    cluster = compose(COMPOSE_CLUSTER)
    grafana = cluster["services"]["grafana"]
    mounts = {
        source: target
        for source, target, *_ in (v.split(":") for v in grafana["volumes"])
        if source.startswith(".")
    }
    for source in mounts:
        assert (COMPOSE_CLUSTER.parent / source).resolve().is_dir(), source
    provisioning = mounts["../grafana/provisioning"]
    assert provisioning == "/etc/grafana/provisioning"

    (datasource,) = load_yaml(GRAFANA / "provisioning" / "datasources" / "prometheus.yml")[
        "datasources"
    ]
    assert datasource["type"] == "prometheus"
    assert datasource["url"] == "http://prometheus:9090"
    assert "prometheus" in cluster["services"]
    variable = next(
        v for v in load_json(DASHBOARD)["templating"]["list"] if v["name"] == "datasource"
    )
    assert variable["current"]["value"] == datasource["uid"]

    (provider,) = load_yaml(GRAFANA / "provisioning" / "dashboards" / "streamvault.yml")[
        "providers"
    ]
    assert provider["options"]["path"] == mounts["../grafana/dashboards"]
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home == f"{provider['options']['path']}/{DASHBOARD.name}"
