"""The landing page ``/`` and the editor's files at ``/editor/`` over HTTP."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

from aiohttp.test_utils import TestClient

from streamvault.web import EDITOR_DIR
from streamvault.web.assets import EditorAssets

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
    assert f'src="js/main.js?v={version_of("js/main.js")}"' in await index.text()
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


def version_of(name: str) -> str:
    digest = hashlib.sha256((EDITOR_DIR / name).read_bytes()).digest()
    return base64.urlsafe_b64encode(digest).decode()[:16]


async def test_editor_scripts_have_versioned_urls_cached_for_good(client: TestClient) -> None:
    index = await client.get("/editor/")
    page = await index.text()
    # every module and the stylesheet by its version; the modules' imports of one another too
    found = re.search(r'<script type="importmap">(.*?)</script>', page, re.S)
    assert found is not None and page.index("importmap") < page.index('<script type="module"')
    imports = json.loads(found[1])["imports"]
    modules = sorted(p.relative_to(EDITOR_DIR).as_posix() for p in (EDITOR_DIR / "js").glob("*.js"))
    assert imports == {f"./{m}": f"./{m}?v={version_of(m)}" for m in modules}
    assert f'href="editor.css?v={version_of("editor.css")}"' in page
    assert f'href="js/chat.js?v={version_of("js/chat.js")}"' in page  # its modulepreload
    kept = await client.get("/editor/js/chat.js", params={"v": version_of("js/chat.js")})
    assert kept.status == 200 and "immutable" in kept.headers["Cache-Control"]
    assert await kept.read() == (EDITOR_DIR / "js" / "chat.js").read_bytes()
    # an old version's URL gets the file as it is now, but not to keep
    stale = await client.get("/editor/js/chat.js", params={"v": "old"})
    assert stale.status == 200 and stale.headers["Cache-Control"] == "no-cache"
    # the page itself revalidates, answered 304 while nothing changed
    again = await client.get("/editor/", headers={"If-None-Match": index.headers["ETag"]})
    assert again.status == 304


async def test_editor_assets_follow_a_changed_file(tmp_path: Path) -> None:
    root = tmp_path / "editor"
    (root / "js").mkdir(parents=True)
    page = '<link rel="stylesheet" href="editor.css">\n<script type="module" src="js/main.js">'
    (root / "index.html").write_text(page + "</script>")
    (root / "editor.css").write_text("body {}")
    (root / "js" / "main.js").write_text("import './time.js';")
    (root / "js" / "time.js").write_text("export const a = 1;")
    assets = EditorAssets(root)
    first = assets.get()
    assert first.index.decode().count("?v=") == 4  # two tags, and the map's two modules
    (root / "js" / "time.js").write_text("export const a = 22;")
    second = assets.get()
    assert second.versions["js/time.js"] != first.versions["js/time.js"]
    assert second.versions["js/main.js"] == first.versions["js/main.js"]
    assert second.etag != first.etag
