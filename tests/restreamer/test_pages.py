"""The landing page ``/`` and the editor's files at ``/editor/`` over HTTP."""

from __future__ import annotations

import re

from aiohttp.test_utils import TestClient

from .conftest import Archive


async def test_landing_page_shows_streams_timelines_and_holes(
    client: TestClient, archive: Archive
) -> None:
    response = await client.get("/", params={"hours": "48"})
    assert response.status == 200
    assert response.content_type == "text/html"
    page = await response.text()
    for name in ("test", "holes", "source", "480p"):
        assert f">{name}<" in page or f">{name} <" in page
    assert page.count("<svg") == 3  # test/source, test/480p, holes/source
    # holes/source lacks segments 10 and 11: one hole of 4 s, linked into the editor.
    hole_start = archive.start(10).strftime("%Y-%m-%d %H:%M:%S")
    assert hole_start in page and "4.0 s" in page
    link = re.search(r'href="(/editor/#[^"]+)">open in editor', page)
    assert link is not None and "channel=holes" in link[1] and "quality=source" in link[1]
    assert "Nov 28" in page or "04:00" in page  # time labels on the axis


async def test_landing_page_refuses_bad_hours(client: TestClient) -> None:
    for hours in ("0", "169", "x", "-1"):
        response = await client.get("/", params={"hours": hours})
        assert response.status == 400
        assert "hours" in await response.text()


async def test_editor_files_are_served_with_their_types(client: TestClient) -> None:
    index = await client.get("/editor/")
    assert index.status == 200 and index.content_type == "text/html"
    assert index.headers["Cache-Control"] == "no-cache"
    assert 'src="js/main.js"' in await index.text()
    script = await client.get("/editor/js/main.js")
    assert script.status == 200 and script.content_type == "text/javascript"
    vendor = await client.get("/editor/vendor/hls-1.7.4.light.min.mjs")
    assert vendor.status == 200 and vendor.content_type == "text/javascript"
    assert "immutable" in vendor.headers["Cache-Control"]
    redirect = await client.get("/editor", allow_redirects=False)
    assert redirect.status == 302 and redirect.headers["Location"] == "/editor/"


async def test_editor_paths_cannot_leave_its_directory(client: TestClient) -> None:
    for path in ("/editor/../../pyproject.toml", "/editor/%2e%2e/landing.py", "/editor/nothing.js",
                 "/editor/js/../../landing.py", "/editor/.hidden"):  # fmt: skip
        response = await client.get(path)
        assert response.status in (403, 404), path
