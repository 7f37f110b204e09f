"""``GET /coverage/CHANNEL/QUALITY.json?start&end`` ★: holes, overlaps and per-type durations
of a range, measured by :func:`streamvault.coverage.compute.range_coverage` over the same
selection playlists and cuts use. Without ``end`` the range ends now; without ``start`` it is
the hour before ``end``; a ``start`` in the future without ``end`` is a 400. Time before the
stream's first segment or after its newest one is "no data", not a hole (SPEC §9).

``hash_disagreements`` lists the hash disagreements (SPEC §15) this node's backfiller found
for segments that start in the range, as :mod:`streamvault.store.disagreements` records them.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from ..store import disagreements
from ..store.chat_naming import CHAT_QUALITY
from ..timeutil import hours_within
from .archive import Archive
from .http import json_response, query
from .params import range_params
from .state import ARCHIVE, CLOCK

DEFAULT_SPAN = timedelta(hours=1)


def coverage_json(
    archive: Archive, channel: str, quality: str, start: datetime, end: datetime
) -> dict[str, Any]:
    from ..coverage.compute import range_coverage  # another component: loaded when used

    archive.require_stream(channel, quality)
    segments = archive.segments_for_range(channel, quality, start, end)
    first, newest = archive.earliest(channel, quality, None), archive.latest(channel, quality)
    body = range_coverage(
        segments,
        start,
        end,
        data_before=first is not None and first < start,
        data_after=newest is not None and newest >= end,
    ).to_json()
    body["hash_disagreements"] = disagreements.read_range(
        archive.store.base_dir, channel, quality, start, end
    )
    return body


def chat_coverage_json(
    archive: Archive, channel: str, quality: str, start: datetime, end: datetime
) -> dict[str, Any]:
    """For the chat "quality": batches per hour and the gaps between them (SPEC §14)."""
    from ..chat.coverage import chat_coverage
    from ..chat.store import ChatStore  # another component: loaded when used

    archive.require_stream(channel, quality)
    store = ChatStore(archive.store.base_dir)
    hours = hours_within(store.hours(channel), start - timedelta(minutes=1), end)
    files = store.batch_files(channel, hours)
    starts = (t for t, paths in files.items() for _ in paths)
    return chat_coverage(starts, start, end).to_json()


async def handle_coverage(request: web.Request) -> web.Response:
    archive, info = request.app[ARCHIVE], request.match_info
    channel, quality = info["channel"], info["quality"]
    given = range_params(query(request))
    archive.path(channel, quality)
    start, end = given.filled(request.app[CLOCK].now(), DEFAULT_SPAN)
    measure = chat_coverage_json if quality == CHAT_QUALITY else coverage_json
    body = await asyncio.to_thread(measure, archive, channel, quality, start, end)
    return json_response(body)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/coverage/{channel}/{quality}.json", handle_coverage)
