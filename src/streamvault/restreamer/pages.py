"""The pages a person opens: the landing page ``/`` and the editor at ``/editor/`` (SPEC §13).

The editor is static files (:data:`streamvault.web.EDITOR_DIR`) served as they are: no build
step. ``index.html`` revalidates on every load (``no-cache``, with an ETag) and names the
editor's scripts and stylesheet by versioned URLs (:mod:`streamvault.web.assets`), which are
cached for good, as is the vendored hls.js, whose name carries its version. A file asked for
without its current version revalidates (``no-cache`` with ``Last-Modified``).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from aiohttp import web

from ..coverage.spans import coverage_spans
from ..errors import BadInput, NotFound
from ..store.select import select_segments
from ..web import EDITOR_DIR
from ..web.assets import INDEX, EditorAssets
from ..web.landing import StreamView, render_landing
from .archive import Archive
from .http import query
from .params import single
from .state import ARCHIVE, CLOCK, OPENAPI_PATHS

#: The landing page covers the last ``hours`` hours: 24 unless asked, at most a week.
DEFAULT_HOURS = 24
MAX_HOURS = 168
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
}


def landing_hours(text: str | None) -> int:
    if text is None:
        return DEFAULT_HOURS
    if not text.isdigit() or not 1 <= int(text) <= MAX_HOURS:
        raise BadInput(f"parameter 'hours' must be a whole number from 1 to {MAX_HOURS}")
    return int(text)


def stream_views(archive: Archive, start: datetime, end: datetime) -> list[StreamView]:
    views = []
    for channel in archive.channels():
        for quality in archive.qualities(channel):
            if quality == "chat":
                continue
            segments = archive.segments_for_range(channel, quality, start, end)
            selection = select_segments(segments, start, end, archive.size_of)
            views.append(StreamView(channel, quality, coverage_spans(selection, start, end)))
    return views


async def handle_landing(request: web.Request) -> web.Response:
    hours = landing_hours(single(query(request), "hours"))
    end = request.app[CLOCK].now()
    start = end - timedelta(hours=hours)
    views = await asyncio.to_thread(stream_views, request.app[ARCHIVE], start, end)
    page = render_landing(views, start, end, request.host)
    return web.Response(text=page, content_type="text/html", charset="utf-8")


FOR_GOOD = "public, max-age=31536000, immutable"
EDITOR_ASSETS = web.AppKey("editor_assets", EditorAssets)


def _static(name: str, version: str | None, versions: dict[str, str]) -> web.StreamResponse:
    root = EDITOR_DIR.resolve()
    path = (EDITOR_DIR / name).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise NotFound(f"no editor file {name!r}")
    relative = path.relative_to(root).as_posix()
    kept = relative.startswith("vendor/") or (version and versions.get(relative) == version)
    headers = {"Content-Type": _TYPES.get(path.suffix, "application/octet-stream")}
    headers["Cache-Control"] = FOR_GOOD if kept else "no-cache"
    return web.FileResponse(path, headers=headers)


async def handle_editor(request: web.Request) -> web.StreamResponse:
    name = request.match_info.get("name") or INDEX
    assets = await asyncio.to_thread(request.app[EDITOR_ASSETS].get)
    if name != INDEX:
        return _static(name, request.query.get("v"), assets.versions)
    headers = {"Cache-Control": "no-cache", "ETag": assets.etag}
    if request.headers.get("If-None-Match") == assets.etag:
        return web.Response(status=304, headers=headers)
    return web.Response(
        body=assets.index, content_type="text/html", charset="utf-8", headers=headers
    )


async def handle_editor_redirect(request: web.Request) -> web.StreamResponse:
    # an answer, not aiohttp's HTTPFound raised: only the middleware answers with exceptions
    return web.Response(status=302, text="302: Found", headers={"Location": "/editor/"})


def _page(summary: str) -> dict[str, object]:
    return {
        "get": {
            "summary": summary,
            "responses": {
                "200": {"description": "HTML", "content": {"text/html": {"schema": {}}}},
                "400": {"description": "a parameter does not parse"},
            },
        }
    }


def setup(app: web.Application) -> None:
    app[EDITOR_ASSETS] = EditorAssets(EDITOR_DIR)
    app.router.add_get("/", handle_landing)
    app.router.add_get("/editor", handle_editor_redirect)
    app.router.add_get("/editor/", handle_editor)
    app.router.add_get("/editor/{name:.+}", handle_editor)
    landing = _page(
        "The landing page: every channel and quality, a timeline of their coverage with time "
        "labels, and every hole with links into the editor"
    )
    landing["get"]["parameters"] = [  # type: ignore[index]
        {
            "name": "hours",
            "in": "query",
            "description": f"how many hours back to show (1 to {MAX_HOURS}, default 24)",
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_HOURS},
        }
    ]
    app[OPENAPI_PATHS]["/"] = landing
    editor = _page(
        "The editor: watch, mark and cut while the stream is still live (its scripts and "
        "stylesheet named by versioned URLs, with an import map for the modules)"
    )
    editor["get"]["responses"]["304"] = {  # type: ignore[index]
        "description": "not modified (If-None-Match with the page's ETag)"
    }
    app[OPENAPI_PATHS]["/editor/"] = editor
    app[OPENAPI_PATHS]["/editor"] = {
        "get": {
            "summary": "Redirects to /editor/",
            "responses": {"302": {"description": "Location: /editor/"}},
        }
    }
    app[OPENAPI_PATHS]["/editor/{name}"] = {
        "get": {
            "summary": "A file of the editor (its scripts, styles and the vendored hls.js)",
            "parameters": [
                {
                    "name": "name",
                    "in": "path",
                    "required": True,
                    "description": "path of the file under the editor, e.g. js/main.js",
                    "schema": {"type": "string"},
                },
                {
                    "name": "v",
                    "in": "query",
                    "description": "the file's version as the editor's page names it (the "
                    "start of its SHA-256): the answer may then be cached for good; without "
                    "it, or with an old one, the file revalidates on every load",
                    "schema": {"type": "string"},
                },
            ],
            "responses": {
                "200": {
                    "description": "the file",
                    "content": {kind: {"schema": {}} for kind in sorted(set(_TYPES.values()))},
                },
                "403": {"description": "a path part starts with '.'"},
                "404": {"description": "no such file"},
            },
        }
    }
