"""/openapi.json describes every route truthfully: schemathesis finds no 5xx and no mismatch."""

from __future__ import annotations

import re

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import REGISTRY

from streamvault.clock import FakeClock
from streamvault.restreamer.app import create_app

from .conftest import Archive
from .hostile_client import run_schemathesis


def internal_errors() -> float:
    return REGISTRY.get_sample_value("streamvault_restreamer_internal_errors_total") or 0.0


async def test_openapi_lists_every_route(client: TestClient) -> None:
    response = await client.get("/openapi.json")
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    document = await response.json()
    assert document["openapi"].startswith("3.1")
    routes = {
        resource.canonical
        for resource in client.app.router.resources()  # type: ignore[union-attr]
    }
    assert routes == set(document["paths"])


async def test_schemathesis_finds_no_server_error_and_no_schema_violation(
    client: TestClient, tmp_path: pytest.TempPathFactory
) -> None:
    before = internal_errors()
    returncode, report = await run_schemathesis(
        str(client.make_url("/")), str(tmp_path),
        # The change feed (another component) long-polls for up to its timeout parameter.
        "--exclude-path", "/changes/{channel}/{quality}",
        "--max-examples", "12", "--seed", "1", "--request-timeout", "30",
    )  # fmt: skip
    assert returncode == 0, report[-6000:]
    # Every operation but the excluded feed was exercised.
    selected = re.search(r"Selected: (\d+)/(\d+)", report)
    assert selected is not None, report[-3000:]
    assert int(selected[1]) == int(selected[2]) - 1
    assert f"Tested: {selected[1]}" in report
    assert internal_errors() == before


async def test_an_unexpected_error_is_a_logged_500_with_one_line(
    archive: Archive, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(archive.base, clock=FakeClock())

    async def broken(request: web.Request) -> web.Response:
        raise RuntimeError("a bug")

    app.router.add_get("/broken", broken)
    before = internal_errors()
    async with TestClient(TestServer(app, host="127.0.0.1", port=0)) as client:
        response = await client.get("/broken")
        assert response.status == 500
        assert (await response.text()).count("\n") == 1
    assert internal_errors() == before + 1
    assert "a bug" in caplog.text


async def test_metrics(client: TestClient) -> None:
    await client.get("/files")
    response = await client.get("/metrics")
    assert response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    text = await response.text()
    assert 'streamvault_restreamer_requests_total{method="GET",route="/files",status="200"}' in text
    assert "streamvault_restreamer_request_duration_seconds_bucket" in text
    assert "streamvault_cut_ffmpeg_running" in text


async def test_metrics_count_errors_and_bound_the_method_label(client: TestClient) -> None:
    """Every answer is counted with its status; a made-up method cannot add new series."""
    bad_hour = {"method": "GET", "route": "/files/{channel}/{quality}/{hour}", "status": "400"}
    not_allowed = {"method": "other", "route": "unmatched", "status": "405"}
    before = [requests_counted(labels) for labels in (bad_hour, not_allowed)]
    assert (await client.get("/files/test/source/not-an-hour")).status == 400
    assert (await client.request("PROPFIND", "/files")).status == 405
    assert (await client.request("MKCOL", "/files")).status == 405
    assert requests_counted(bad_hour) == before[0] + 1
    assert requests_counted(not_allowed) == before[1] + 2
    text = await (await client.get("/metrics")).text()
    assert "PROPFIND" not in text and "MKCOL" not in text


def requests_counted(labels: dict[str, str]) -> float:
    name = "streamvault_restreamer_requests_total"
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_cors_on_errors_too(client: TestClient) -> None:
    response = await client.get("/playlist/test/source.m3u8?start=nope")
    assert response.status == 400
    assert response.headers["Access-Control-Allow-Origin"] == "*"
