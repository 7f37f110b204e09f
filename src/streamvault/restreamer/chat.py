"""``GET /CHANNEL/chat.json?start&end``: the merged chat messages of a range (SPEC §14).

Every batch file that may hold a message of the range (a message with a wide time range can
sit two batches early) is read and merged (several nodes' files for one minute, before the
periodic merge folds them); messages whose time range meets ``[start, end)`` are returned in
order of (time, time_range), as wubloader's restreamer returns them.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from aiohttp import web

from ..chat.store import ChatStore
from ..errors import BadInput, NotFound
from ..store.naming import check_path_part
from .http import json_response, query
from .params import parse_time, single
from .state import OPENAPI_PATHS

#: the longest range served
MAX_RANGE = timedelta(hours=2)

CHAT_STORE = web.AppKey("chat_store", ChatStore)


async def handle_chat(request: web.Request) -> web.Response:
    channel = check_path_part(request.match_info["channel"], "channel")
    given = query(request)
    texts = {name: single(given, name) for name in ("start", "end")}
    missing = [name for name, text in texts.items() if text is None]
    if missing:
        raise BadInput(f"parameter {missing[0]!r} is required")
    start = parse_time(texts["start"] or "", "start")
    end = parse_time(texts["end"] or "", "end")
    if end <= start:
        raise BadInput("'end' must be after 'start'")
    if end - start > MAX_RANGE:
        raise BadInput("a chat range may be at most 2 hours long")
    store = request.app[CHAT_STORE]
    if not store.has_channel(channel):
        raise NotFound(f"unknown channel {channel!r}")
    messages = await asyncio.to_thread(store.messages_between, channel, start, end)
    return json_response(messages)


def openapi_paths(parameters: list[dict[str, Any]], errors: dict[str, Any]) -> dict[str, Any]:
    message = {
        "type": "object",
        "description": "a chat message as the archive stores it (wubloader's format)",
        "properties": {
            "command": {"type": "string", "description": "IRC command: PRIVMSG, USERNOTICE, ..."},
            "params": {"type": "array", "items": {"type": "string"}},
            "sender": {"type": ["string", "null"]},
            "user": {"type": ["string", "null"]},
            "host": {"type": ["string", "null"]},
            "tags": {"type": ["object", "null"], "description": "IRCv3 tags, unescaped"},
            "receivers": {
                "type": "object",
                "description": "node name -> when it received the message (unix seconds)",
                "additionalProperties": {"type": "number"},
            },
            "time": {"type": "number", "description": "earliest time it may have been sent"},
            "time_range": {"type": "number", "description": "seconds it may have been later"},
        },
    }
    ok = {
        "description": "the merged messages whose time range meets [start, end), in time order",
        "content": {"application/json": {"schema": {"type": "array", "items": message}}},
    }
    return {
        "/{channel}/chat.json": {
            "get": {
                "summary": "the archived chat of a range of at most 2 hours",
                "parameters": parameters,
                "responses": {"200": ok, **errors},
            }
        }
    }


def _time(name: str, description: str) -> dict[str, Any]:
    from .openapi import TIME_PATTERN

    schema = {"type": "string", "pattern": TIME_PATTERN, "example": "2026-11-28T04:05:06.789Z"}
    return {
        "name": name,
        "in": "query",
        "required": True,
        "description": description,
        "schema": schema,
    }


def setup(app: web.Application, base_dir: str) -> None:
    from .openapi import CHANNEL, ERRORS

    app[CHAT_STORE] = ChatStore(base_dir)
    app.router.add_get("/{channel}/chat.json", handle_chat)
    start = _time("start", "start of the range, UTC ISO 8601")
    end = _time("end", "end of the range, at most 2 hours after start, UTC ISO 8601")
    app[OPENAPI_PATHS].update(openapi_paths([CHANNEL, start, end], ERRORS))
