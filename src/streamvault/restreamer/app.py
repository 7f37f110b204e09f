"""The restreamer application (SPEC §5).

``create_app(base_dir)`` returns an aiohttp application with every route. Its state lives under
the keys of :mod:`.state`: ``app[ARCHIVE]`` (the store with cached listings), ``app[CLOCK]``,
``app[INFLIGHT]`` (shared computations) and ``app[OPENAPI_PATHS]``.

Extending: a module that adds routes (the change feed, :mod:`.feed`) gets
``setup(app, store)`` called after the built-in routes; it adds its routes and puts its OpenAPI
path items into ``app[OPENAPI_PATHS]`` (path template -> path item), which ``/openapi.json``
renders with the rest.
"""

from __future__ import annotations

import logging

from aiohttp import web

from ..clock import Clock, SystemClock
from ..events import api as events_api
from ..events.store import EventStore
from ..metrics import CONTENT_TYPE, render
from ..store.disk import SegmentStore
from . import chat, coverage, cuts, feed, files, maps, pages, playlists, stills
from .archive import Archive
from .cache import InFlight
from .http import JSON_APIS, JsonApi, add_cors, answer_middleware
from .openapi import build_paths, handle_openapi
from .rendered import RenderedCuts
from .state import ARCHIVE, CLOCK, INFLIGHT, OPENAPI_PATHS, RENDERED

__all__ = ["ARCHIVE", "CLOCK", "INFLIGHT", "OPENAPI_PATHS", "create_app"]

log = logging.getLogger(__name__)


async def handle_metrics(request: web.Request) -> web.Response:
    response = web.Response(body=render())
    response.headers["Content-Type"] = CONTENT_TYPE
    return response


async def _close_rendered(app: web.Application) -> None:
    await app[RENDERED].close()


def create_app(
    base_dir: str,
    *,
    clock: Clock | None = None,
    store: SegmentStore | None = None,
    events: EventStore | None = None,
) -> web.Application:
    """The restreamer over ``base_dir`` (or over ``store``, when one is shared in-process).

    With ``events`` it also serves ``/api/events`` (SPEC §12) and brings the event
    database's schema up to date when it starts; the caller closes ``events``.
    """
    store = store or SegmentStore(base_dir)
    app = web.Application(middlewares=[answer_middleware])
    app[ARCHIVE] = Archive(store)
    app[CLOCK] = clock or SystemClock()
    app[INFLIGHT] = InFlight()
    app[RENDERED] = RenderedCuts()
    app.on_cleanup.append(_close_rendered)
    app[OPENAPI_PATHS] = build_paths()
    maps.setup(app, store)  # before files: /segments/coverage-maps/NAME is more specific
    files.add_routes(app)
    playlists.add_routes(app)
    cuts.add_routes(app)
    coverage.add_routes(app)
    app.router.add_get("/metrics", handle_metrics)
    app.router.add_get("/openapi.json", handle_openapi)
    chat.setup(app, store.base_dir)
    stills.setup(app)
    pages.setup(app)
    app.on_response_prepare.append(add_cors)
    feed.setup(app, store, clock=app[CLOCK])
    if events is not None:
        _add_events(app, events)
    return app


def _add_events(app: web.Application, events: EventStore) -> None:
    events_api.add_routes(app, events)
    app[JSON_APIS] = (*app.get(JSON_APIS, ()), JsonApi(events_api.PREFIX, events_api.EXPOSED))
    app[OPENAPI_PATHS].update(events_api.openapi_paths())

    async def migrate(app: web.Application) -> None:
        await events.open()

    app.on_startup.append(migrate)
