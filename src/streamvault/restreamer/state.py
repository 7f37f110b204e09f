"""Keys of the values a restreamer application holds (``app[KEY]``)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ..clock import Clock
from .archive import Archive
from .cache import InFlight
from .rendered import RenderedCuts

ARCHIVE = web.AppKey("archive", Archive)
CLOCK = web.AppKey("clock", Clock)
INFLIGHT = web.AppKey("inflight", InFlight)
#: browser files (mp4, webm cuts) rendered and kept a while
RENDERED = web.AppKey("rendered", RenderedCuts)
#: OpenAPI ``paths`` object rendered at ``/openapi.json``; a module that adds routes adds its
#: path items here (path template -> path item), as ``feed.setup`` does.
OPENAPI_PATHS: web.AppKey[dict[str, Any]] = web.AppKey("openapi_paths", dict)
