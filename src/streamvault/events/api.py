"""``/api/events`` (SPEC §12): JSON over HTTP for editors, scripts and cutters.

Every answer is JSON. Handlers raise and the restreamer's middleware answers errors as
``{"error": "one line"}`` (400 bad input or an illegal state change, 404 unknown id, 428 an
update without ``If-Match``), and a stale ``If-Match`` as 409 ``{"error": ..., "current":
EVENT}`` so the editor can show the other version (:mod:`streamvault.http_errors`). Who made a
change is the ``X-Editor`` header, else the ``editor`` field of the change, else
``anonymous``; it goes into the history.

:func:`add_routes` puts the routes on an application; :func:`openapi_paths` describes them.
The restreamer's app wires both in, and answers the routes under :data:`PREFIX` in JSON
with :data:`EXPOSED` readable by any origin; this module knows nothing of the restreamer.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web

from ..errors import BadInput, EventNotFound, PreconditionRequired
from ..timeutil import parse_time
from . import model
from .openapi import openapi_paths
from .store import DEFAULT_LIMIT, MAX_LIMIT, EventFilter, EventStore

__all__ = ["EVENTS", "EXPOSED", "PREFIX", "add_routes", "openapi_paths"]

log = logging.getLogger(__name__)

EVENTS = web.AppKey("events", EventStore)
MAX_BODY = 1024 * 1024
MAX_QUERY_TEXT = 200
PREFIX = "/api/events"
#: Readable by any origin on every answer: an editor served by another node may use the API
#: (SPEC §13, "switch to another node"); the restreamer's middleware answers the preflights.
EXPOSED = "ETag, Location"


def _event_id(request: web.Request) -> int:
    text = request.match_info["id"]
    if not text.isdigit() or len(text) > 12:
        raise EventNotFound(f"no event {text!r}")
    return int(text)


def if_match(request: web.Request) -> int | None:
    """The version in ``If-Match: "3"`` (None when the header is missing)."""
    header = request.headers.get("If-Match")
    if header is None:
        return None
    text = header.strip().removeprefix("W/").strip('"')
    if not text.isdigit() or len(text) > 12:
        raise BadInput(f'If-Match must be an event version like "3", not {header!r}')
    return int(text)


def based_on(request: web.Request, change: str) -> int:
    """The ``If-Match`` version ``change`` ("an update") needs; 428 without one."""
    version = if_match(request)
    if version is None:
        text = f'{change} needs If-Match: "VERSION" (the version it is based on)'
        raise PreconditionRequired(text)
    return version


async def _body(request: web.Request) -> Any:
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise BadInput(f"the body is larger than {MAX_BODY} bytes")
    data = await request.content.read(MAX_BODY + 1)
    if len(data) > MAX_BODY:
        raise BadInput(f"the body is larger than {MAX_BODY} bytes")
    try:
        return json.loads(data)
    except (UnicodeDecodeError, ValueError):
        raise BadInput("the body is not JSON") from None


def _who(request: web.Request, data: Any) -> str:
    who = request.headers.get("X-Editor")
    if who is None and isinstance(data, dict) and isinstance(data.get("editor"), str):
        who = data["editor"]
    cleaned = "".join(ch for ch in (who or "") if ch.isprintable()).strip()[:200]
    return cleaned or "anonymous"


def _with_etag(event: dict[str, Any], status: int = 200) -> web.Response:
    response = web.json_response(event, status=status)
    response.headers["ETag"] = f'"{event["version"]}"'
    return response


def _int_param(request: web.Request, name: str, low: int, high: int, default: int | None) -> Any:
    text = request.query.get(name)
    if text is None or (text == "" and name == "cursor"):
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        raise BadInput(f"{name} must be a whole number from {low} to {high}")
    return int(text)


def parse_filter(request: web.Request) -> EventFilter:
    query = request.query
    states = tuple(s for value in query.getall("state", []) for s in value.split(",") if s)
    for state in states:
        if state not in model.STATES:
            raise BadInput(f"state must be one of {', '.join(model.STATES)}, not {state!r}")
    start = parse_time(query["start"], utc_only=True) if "start" in query else None
    end = parse_time(query["end"], utc_only=True) if "end" in query else None
    if start is not None and end is not None and end <= start:
        raise BadInput("end must be after start")
    q = query.get("q") or None
    if q is not None and len(q) > MAX_QUERY_TEXT:
        raise BadInput(f"q is longer than {MAX_QUERY_TEXT} characters")
    return EventFilter(
        channel=query.get("channel") or None,
        states=states,
        start=start,
        end=end,
        q=q,
        limit=_int_param(request, "limit", 1, MAX_LIMIT, DEFAULT_LIMIT),
        cursor=_int_param(request, "cursor", 1, 10**12, None),  # "" is the first page
    )


async def handle_list(request: web.Request) -> web.StreamResponse:
    events, cursor = await request.app[EVENTS].list(parse_filter(request))
    return web.json_response({"events": events, "next": None if cursor is None else str(cursor)})


async def handle_create(request: web.Request) -> web.StreamResponse:
    data = await _body(request)
    event = await request.app[EVENTS].create(data, _who(request, data))
    response = _with_etag(event, status=201)
    response.headers["Location"] = f"/api/events/{event['id']}"
    log.info("event %d created in %s/%s", event["id"], event["channel"], event["quality"])
    return response


async def handle_get(request: web.Request) -> web.StreamResponse:
    return _with_etag(await request.app[EVENTS].get(_event_id(request)))


async def handle_update(request: web.Request) -> web.StreamResponse:
    event_id = _event_id(request)
    version = based_on(request, "an update")
    data = await _body(request)
    event = await request.app[EVENTS].update(event_id, version, data, _who(request, data))
    return _with_etag(event)


async def handle_delete(request: web.Request) -> web.StreamResponse:
    event_id = _event_id(request)
    version = based_on(request, "a delete")
    await request.app[EVENTS].delete(event_id, version, _who(request, None))
    log.info("event %d deleted", event_id)
    return web.Response(status=204)


async def handle_history(request: web.Request) -> web.StreamResponse:
    return web.json_response(await request.app[EVENTS].history(_event_id(request)))


def add_routes(app: web.Application, store: EventStore) -> None:
    app[EVENTS] = store
    app.router.add_get("/api/events", handle_list)
    app.router.add_post("/api/events", handle_create)
    app.router.add_get("/api/events/{id}", handle_get)
    app.router.add_patch("/api/events/{id}", handle_update)
    app.router.add_delete("/api/events/{id}", handle_delete)
    app.router.add_get("/api/events/{id}/history", handle_history)
