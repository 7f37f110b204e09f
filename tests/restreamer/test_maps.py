"""The restreamer serves the coverage maps other nodes' pages load (SPEC §9)."""

from __future__ import annotations

from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from streamvault.restreamer.app import create_app


async def test_coverage_maps_are_served_and_nothing_else(tmp_path: Path) -> None:
    maps = tmp_path / "coverage-maps"
    maps.mkdir()
    (maps / "demo_source_coverage.png").write_bytes(b"\x89PNG fake but served as is")
    (maps / "demo_source_coverage.html").write_text("<html>maps</html>")
    (maps / ".secret.png").write_bytes(b"hidden")
    (tmp_path / "outside.png").write_bytes(b"outside")
    async with TestClient(TestServer(create_app(str(tmp_path)))) as client:
        response = await client.get("/coverage-maps/demo_source_coverage.png")
        assert response.status == 200
        assert response.headers["Content-Type"] == "image/png"
        assert response.headers["Cache-Control"] == "no-cache"
        assert await response.read() == b"\x89PNG fake but served as is"
        page = await client.get("/coverage-maps/demo_source_coverage.html")
        assert page.status == 200 and "text/html" in page.headers["Content-Type"]
        missing = await client.get("/coverage-maps/missing.png")
        assert missing.status == 404 and missing.content_type == "text/plain"
        assert await missing.text() == "no such coverage map\n"
        assert (await client.get("/coverage-maps/notes.txt")).status == 404
        assert (await client.get("/coverage-maps/.secret.png")).status == 403
        assert (await client.get("/coverage-maps/..%2foutside.png")).status in (403, 404)
        spec = await (await client.get("/openapi.json")).json()
        assert "/coverage-maps/{name}" in spec["paths"]
