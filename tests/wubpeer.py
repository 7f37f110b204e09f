"""A test peer that behaves as wubloader nodes are documented to behave, written from that
description (no code of theirs): its restreamer's listings and file serving, its tombstone
form, its ``/extras`` route, no change feed; and one pass of its backfiller.

What it does, as the tests rely on it:

- Listings: ``/files``, ``/files/C`` and ``/files/C/Q`` list every entry not starting with
  ``.`` (``[]`` when missing). ``/files/C/Q/H`` splits each name at its last dot: a
  ``X.tombstone`` hides every ``X.ts`` and ``X.json``; ``.ts`` and ``.json`` files are listed
  (not hidden ones), tombstones too with ``tombstones=true`` (any other value but ``false``
  is a 400). A ``X.ts.tombstone`` hides nothing there (its stem is ``X.ts``).
- ``/extras/DIR``: every file under ``BASE/DIR``, recursively, relative to it.
- ``/segments/PATH``: any file under the base directory, as a static file server would send
  it, tombstoned or not (only listings hide). Coverage maps live in ``BASE/coverage-maps/``
  and so are at ``/segments/coverage-maps/NAME``.
- No ``/changes``: 404.
- The backfiller (:func:`backfill_pass`): per hour, fetches every remote name its own listing
  lacks; a listed tombstone is created as an empty file of that name; video names are parsed
  (temp and too recent ones skipped, one within 1 ms of an identical local one skipped) and
  verified against their hash; chat batches are verified against theirs and a 404 on one is
  ignored; ``/extras/DIR`` is asked for every extra directory and must answer 200.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import html
import os
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import aiohttp
from aiohttp import web

from streamvault.store.naming import parse_name
from tests.helpers import write_file


def _listdir(path: str) -> list[str]:
    try:
        return [name for name in os.listdir(path) if not name.startswith(".")]
    except FileNotFoundError:
        return []


def list_hour(path: str, tombstones: bool) -> list[str]:
    """An hour directory as the wubloader restreamer lists it (see the module doc)."""
    splits = [os.path.splitext(name) for name in _listdir(path)]
    hidden = {stem for stem, ext in splits if ext == ".tombstone"}
    names = [stem + ext for stem, ext in splits if stem not in hidden and ext in (".ts", ".json")]
    if tombstones:
        names += [stem + ".tombstone" for stem in sorted(hidden)]
    return names


def list_extras(base_dir: str, directory: str) -> list[str]:
    root = os.path.join(base_dir, directory)
    found = []
    for path, _dirs, files in os.walk(root):
        relative = os.path.relpath(path, root)
        found += [os.path.normpath(os.path.join(relative, name)) for name in files]
    return found


def _unsafe(*parts: str) -> bool:
    return any(part.startswith(".") for part in parts)


def restreamer_app(base_dir: str, gone: set[str] | None = None) -> web.Application:
    """The restreamer over ``base_dir``. ``gone``: file names listed but answered 404 (a chat
    batch merged away between a listing and its fetch)."""
    gone = gone or set()

    async def files(request: web.Request) -> web.Response:
        parts = [p for p in request.match_info["tail"].split("/") if p]
        if _unsafe(*parts):
            return web.Response(status=403, text="Bad path: May not start with a period")
        path = os.path.join(base_dir, *parts)
        if len(parts) < 3:
            return web.json_response(_listdir(path))
        if len(parts) > 3:
            raise web.HTTPNotFound()
        tombstones = request.query.get("tombstones", "false").lower()
        if tombstones not in ("true", "false"):
            return web.Response(status=400, text="tombstones must be one of: true, false")
        return web.json_response(list_hour(path, tombstones == "true"))

    async def extras(request: web.Request) -> web.Response:
        directory = request.match_info["dir"]
        if _unsafe(directory):
            return web.Response(status=403, text="Bad dir: May not start with a period")
        return web.json_response(list_extras(base_dir, directory))

    async def segments(request: web.Request) -> web.StreamResponse:
        parts = request.match_info["path"].split("/")
        path = os.path.join(base_dir, *parts)
        if (
            _unsafe(*parts)
            or parts[-1] in gone
            or not await asyncio.to_thread(os.path.isfile, path)
        ):
            raise web.HTTPNotFound()
        return web.FileResponse(path)

    app = web.Application()
    app.router.add_get("/files", files, name="channels")
    app.router.add_get("/files/{tail:.*}", files)
    app.router.add_get("/extras/{dir}", extras)
    app.router.add_get("/segments/{path:.+}", segments)
    return app


def write_coverage_page(
    base_dir: str, channel: str, quality: str, nodes: dict[str, str], png: bytes
) -> str:
    """The coverage page and map a wubloader node writes: each node's map at
    ``URL/segments/coverage-maps/CHANNEL_QUALITY_coverage.png``. Returns the page's path."""
    folder = os.path.join(base_dir, "coverage-maps")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, f"{channel}_{quality}_coverage.png"), "wb") as f:
        f.write(png)
    images = "".join(
        f'<h3>{html.escape(name)}</h3><img src="{url}/segments/coverage-maps/'
        f'{channel}_{quality}_coverage.png" alt="{html.escape(name)}">\n'
        for name, url in sorted(nodes.items())
    )
    page = os.path.join(folder, f"{channel}_{quality}_coverage.html")
    with open(page, "w") as f:
        f.write(f"<!DOCTYPE html><html><body><h1>{channel} {quality}</h1>\n{images}</body></html>")
    return page


def _hash_of_chat_name(name: str) -> bytes:
    encoded = os.path.splitext(name)[0].split("-", 1)[1]
    return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))


@dataclass
class PassLog:
    """What one backfill pass did (the lines its log would hold)."""

    copied: list[str] = field(default_factory=list)
    tombstones: list[str] = field(default_factory=list)
    ignored_missing: list[str] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)
    extras: list[str] = field(default_factory=list)


async def _get_json(session: aiohttp.ClientSession, url: str, **params: str) -> object:
    async with session.get(url, params=params) as response:
        response.raise_for_status()  # any error fails the whole pass, as it does there
        return await response.json(content_type=None)


async def backfill_pass(
    session: aiohttp.ClientSession,
    base_dir: str,
    node: str,
    channels: list[str],
    qualities: list[str],
    extras: list[str],
    now: datetime,
    recent_cutoff: float = 120.0,
) -> PassLog:
    """One pass of the wubloader backfiller from ``node`` into ``base_dir``."""
    log = PassLog()
    for channel in channels:
        for quality in qualities:
            hours = await _get_json(session, f"{node}/files/{channel}/{quality}")
            assert isinstance(hours, list)
            for hour in sorted(hours, reverse=True):
                await _backfill_hour(
                    session, base_dir, node, channel, quality, hour, now, recent_cutoff, log
                )
    for directory in extras:
        remote = await _get_json(session, f"{node}/extras/{directory}")
        assert isinstance(remote, list)
        local = set(list_extras(base_dir, directory))
        for path in sorted(set(remote) - local):
            async with session.get(f"{node}/segments/{directory}/{path}") as response:
                response.raise_for_status()
                data = await response.read()
            target = os.path.join(base_dir, directory, path)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            await write_file(target, data)
            log.extras.append(f"{directory}/{path}")
    return log


async def _backfill_hour(
    session: aiohttp.ClientSession,
    base_dir: str,
    node: str,
    channel: str,
    quality: str,
    hour: str,
    now: datetime,
    recent_cutoff: float,
    log: PassLog,
) -> None:
    directory = os.path.join(base_dir, channel, quality, hour)
    local = set(list_hour(directory, tombstones=True))
    remote = await _get_json(session, f"{node}/files/{channel}/{quality}/{hour}", tombstones="true")
    assert isinstance(remote, list)
    local_segments = []
    if quality != "chat":
        for name in local:
            try:
                local_segments.append(parse_name(channel, quality, hour, name))
            except ValueError:
                pass
    for name in sorted(set(remote) - local):
        path = os.path.join(directory, name)
        os.makedirs(directory, exist_ok=True)
        if name.endswith(".tombstone"):
            await write_file(path)
            log.tombstones.append(f"{channel}/{quality}/{hour}/{name}")
            continue
        if quality == "chat":
            expected = _hash_of_chat_name(name)
        else:
            if "-temp-" in name:
                continue
            segment = parse_name(channel, quality, hour, name)
            if now - segment.start < timedelta(seconds=recent_cutoff):
                continue
            if any(
                (s.duration, s.type, s.hash) == (segment.duration, segment.type, segment.hash)
                and abs((s.start - segment.start).total_seconds()) <= 0.001
                for s in local_segments
            ):
                continue
            padded = segment.hash + "=" * (-len(segment.hash) % 4)
            expected = base64.urlsafe_b64decode(padded)
        if await asyncio.to_thread(os.path.exists, path):
            continue
        url = f"{node}/segments/{channel}/{quality}/{hour}/{name}"
        async with session.get(url) as response:
            if response.status == 404 and quality == "chat":
                log.ignored_missing.append(url)
                continue
            response.raise_for_status()
            data = await response.read()
        if hashlib.sha256(data).digest() != expected:
            log.mismatches.append(name)
            continue
        temp = os.path.join(directory, f"{name}.{uuid.uuid4()}.temp")
        await write_file(temp, data)
        os.rename(temp, path)
        log.copied.append(f"{channel}/{quality}/{hour}/{name}")
