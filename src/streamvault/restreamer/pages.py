"""The pages a person opens: the landing page ``/`` and the editor at ``/editor/`` (SPEC §13).

The editor is static files (:data:`streamvault.web.EDITOR_DIR`) served as they are: no build
step. Files revalidate on every load (``no-cache`` with ``Last-Modified``), except the vendored
hls.js, whose name carries its version and which is cached for good.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from aiohttp import web

from ..coverage.spans import coverage_spans
from ..errors import BadInput, NotFound
from ..store.select import select_segments
from ..web import EDITOR_DIR
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


def _static(name: str) -> web.StreamResponse:
    path = (EDITOR_DIR / name).resolve()
    if not path.is_relative_to(EDITOR_DIR.resolve()) or not path.is_file():
        raise NotFound(f"no editor file {name!r}")
    suffix = path.suffix
    cache = "public, max-age=31536000, immutable" if "/vendor/" in path.as_posix() else "no-cache"
    headers = {"Content-Type": _TYPES.get(suffix, "application/octet-stream")}
    headers["Cache-Control"] = cache
    return web.FileResponse(path, headers=headers)


async def handle_editor(request: web.Request) -> web.StreamResponse:
    return _static(request.match_info.get("name") or "index.html")


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
    app[OPENAPI_PATHS]["/editor/"] = _page(
        "The editor: watch, mark and cut while the stream is still live"
    )
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
                }
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
