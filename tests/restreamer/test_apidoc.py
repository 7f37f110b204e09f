"""The API description stands on its own: ``docs/api.md`` is ``/openapi.json`` in Markdown,
every cut type is described in words, and the documents link nothing outside the repository."""

from __future__ import annotations

import re
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from streamvault.cutter.plan import CUT_TYPES
from streamvault.events.store import EventStore
from streamvault.restreamer.apidoc import markdown
from streamvault.restreamer.app import create_app

ROOT = Path(__file__).resolve().parents[2]


async def test_docs_api_md_is_the_served_openapi_document(tmp_path: Path) -> None:
    # served as `streamvault restream` and `node` serve it: with the events API
    events = await EventStore.connect(f"sqlite:///{tmp_path}/events.sqlite3")
    app = create_app(str(tmp_path), events=events)
    async with TestClient(TestServer(app, host="127.0.0.1", port=0)) as client:
        document = await (await client.get("/openapi.json")).json()
    await events.close()
    assert "/api/events/{id}" in document["paths"]
    written = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    assert written == markdown(document), (
        "docs/api.md differs from /openapi.json: run "
        "`python -m streamvault.restreamer.apidoc > docs/api.md`"
    )


async def test_parameters_are_described_in_their_own_words(client: TestClient) -> None:
    document = await (await client.get("/openapi.json")).json()
    assert "SPEC" not in str(document)
    cut = document["paths"]["/cut/{channel}/{quality}.ts"]["get"]
    params = {p["name"]: p for p in cut["parameters"]}
    for name in CUT_TYPES:
        assert re.search(rf"`{name}`: \w+", params["type"]["description"]), name
    assert "required" in params["end"]["description"]  # a cut without end is a 400
    response = await client.get("/cut/test/source.ts?start=2026-11-28T04:00:00")
    assert response.status == 400
    media = document["paths"]["/playlist/{channel}/{quality}.m3u8"]["get"]
    assert "omitted: now" in {p["name"]: p for p in media["parameters"]}["end"]["description"]


def test_readme_and_docs_link_nothing_outside_the_repository() -> None:
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = path.read_text(encoding="utf-8")
        assert "../shared" not in text and "SPEC" not in text, path.name
        for target in re.findall(r"\]\(([^)#]+)", text):  # relative links exist
            if "://" not in target:
                assert (path.parent / target).exists(), (path.name, target)
