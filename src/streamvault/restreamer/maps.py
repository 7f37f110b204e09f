"""``GET /segments/coverage-maps/FILE``: the coverage maps and pages the coverage component
writes to ``BASE/coverage-maps/`` (SPEC §5, §9), under the path wubloader nodes serve them at
and their pages load them from. ``/coverage-maps/FILE`` (where earlier streamvault versions
served them) stays as an alias."""

from __future__ import annotations

import asyncio
import os
import stat

from aiohttp import web

from ..coverage.maps import MAPS_DIR
from ..errors import NotFound
from ..http_errors import text_error_doc
from ..store import safeopen
from ..store.disk import SegmentStore
from ..store.naming import check_path_part
from .state import OPENAPI_PATHS

_TEXT_ERROR = text_error_doc("a one-line reason")
_TYPES = {".png": "image/png", ".html": "text/html; charset=utf-8"}


#: Maps and pages are small (a PNG of a week is some 100 kB); a larger file is not one.
MAX_MAP_BYTES = 64 * 1024 * 1024


def read_map(base_dir: str, name: str) -> bytes | None:
    """The bytes of ``BASE/coverage-maps/NAME``; None unless it is a regular file reached
    through no symlink (checked as it is opened)."""
    try:
        fd = safeopen.open_file(base_dir, (MAPS_DIR, name))
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_MAP_BYTES:
            return None
        with os.fdopen(fd, "rb", closefd=False) as file:
            return file.read(MAX_MAP_BYTES)
    except OSError:
        return None
    finally:
        os.close(fd)


def setup(app: web.Application, store: SegmentStore) -> None:
    async def handle_map(request: web.Request) -> web.StreamResponse:
        name = check_path_part(request.match_info["name"], "file name")
        content_type = _TYPES.get(os.path.splitext(name)[1])
        body = None
        if content_type is not None:
            body = await asyncio.to_thread(read_map, store.base_dir, name)
        if body is None:
            raise NotFound("no such coverage map")
        # Maps are redrawn in place every pass: always revalidate.
        headers = {"Content-Type": content_type or "", "Cache-Control": "no-cache"}
        return web.Response(body=body, headers=headers)

    for prefix, summary in _ROUTES:
        app.router.add_get(f"{prefix}/{MAPS_DIR}/{{name}}", handle_map)
        app[OPENAPI_PATHS][f"{prefix}/{MAPS_DIR}/{{name}}"] = _describe(summary)


_ROUTES = (
    ("/segments", "A coverage map PNG, or the HTML page showing every node's maps"),
    ("", "The same as /segments/coverage-maps/{name} (the path of earlier versions)"),
)


def _describe(summary: str) -> dict[str, object]:
    return {
        "get": {
            "summary": summary,
            "parameters": [
                {
                    "name": "name",
                    "in": "path",
                    "required": True,
                    "description": "CHANNEL_QUALITY_coverage.png or CHANNEL_QUALITY_coverage.html",
                    "schema": {"type": "string"},
                }
            ],
            "responses": {
                "200": {
                    "description": "the file",
                    "content": {
                        "image/png": {"schema": {"type": "string", "format": "binary"}},
                        "text/html": {"schema": {"type": "string"}},
                    },
                },
                "403": _TEXT_ERROR,
                "404": _TEXT_ERROR,
            },
        }
    }
