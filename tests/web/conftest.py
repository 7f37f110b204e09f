"""A node fed by the simulator, and Debian's Chromium driven by Playwright, for the editor.

The node serves two channels from one store: ``past``, two minutes of the simulator's video a
day ago with a 6 s hole, written as a downloader writes segments, and the simulator's chat of
those two minutes as chat batches; and ``live``, recorded right
now by the real downloader from the simulated Twitch running in real time. Events live in a
SQLite database the node's ``/api/events`` serves (SPEC §12). Chromium is the
system binary (``.ci/run`` installs it); without it the tests fail, they do not skip.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from playwright.async_api import Browser, ConsoleMessage, Page, Request, async_playwright

from streamvault.chat.messages import Message
from streamvault.downloader.service import ChannelSpec, Downloader

try:  # the events API comes with issue 18; until it lands, only tests/web/test_editor_events.py
    # (which imports it itself) fails, and the editor is tested without an events database.
    from streamvault.events.store import EventStore
except ImportError:
    EventStore = None  # type: ignore[assignment,misc]
from streamvault.restreamer.app import create_app
from streamvault.sim import ChannelConfig, SimConfig, Simulator
from streamvault.store.disk import SegmentStore
from tests.simstore import fill

from .chatfill import write_chat
from .chromium import ARGS, CHROMIUM

PAST_COUNT = 60
PAST_HOLE = (20, 21, 22)  # 40 s to 46 s into the past recording
SCREENSHOTS = Path(os.environ.get("STREAMVAULT_TEST_OUTPUT", "test-output")) / "editor"


@dataclass
class RunningNode:
    url: str
    base: Path
    past_start: datetime
    store: SegmentStore
    events: Any  # an EventStore, or None before issue 18
    other: str  # a second restreamer over the same store: another node to switch to
    chat: list[Message] = field(default_factory=list)  # the archived chat of past

    def past(self, seconds: float) -> datetime:
        return self.past_start + timedelta(seconds=seconds)


@dataclass
class BrowserPage:
    page: Page
    node: RunningNode
    errors: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    to_other: list[str] = field(default_factory=list)

    async def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        await self.page.screenshot(path=str(path))
        return path


def chromium_binary() -> str:
    found = shutil.which(CHROMIUM) or (CHROMIUM if os.path.exists(CHROMIUM) else None)
    if found is None:
        pytest.fail(f"Chromium is missing ({CHROMIUM}): .ci/run installs Debian's chromium")
    return found


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def node(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningNode]:
    base = tmp_path_factory.mktemp("node")
    cache = tmp_path_factory.mktemp("simcache")
    past_start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    await fill(base, cache, "past", ["source", "480p"], past_start, PAST_COUNT, skip=PAST_HOLE)
    chat = write_chat(base, "past", past_start, PAST_COUNT * 2.0)
    config = SimConfig(
        channels=[ChannelConfig("live", history=8)],
        segment_duration=2.0,
        time_scale=1.0,
        loop_segments=4,
        cache_dir=str(cache),
    )
    store = SegmentStore(str(base))
    events = (
        None
        if EventStore is None
        else await EventStore.connect(f"sqlite:///{base.parent / 'events.sqlite3'}")
    )
    with_events = {} if events is None else {"events": events}
    async with Simulator(config) as sim:
        downloader = Downloader(
            store,
            [ChannelSpec("live", False)],
            ["source"],
            clock=sim.clock,
            gql_url=sim.base_url,
            usher_url=sim.base_url,
        )
        async with downloader:
            runner = web.AppRunner(create_app(str(base), store=store, **with_events))
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            other = web.AppRunner(create_app(str(base), store=store))
            await other.setup()
            other_site = web.TCPSite(other, "127.0.0.1", 0)
            await other_site.start()
            other_port = other_site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            url = f"http://127.0.0.1:{port}"
            try:
                other_url = f"http://127.0.0.1:{other_port}"
                yield RunningNode(url, base, past_start, store, events, other_url, chat)
            finally:
                await other.cleanup()
                await runner.cleanup()
                if events is not None:
                    await events.close()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    executable = chromium_binary()
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=executable, args=ARGS)
        try:
            yield launched
        finally:
            await launched.close()


@pytest_asyncio.fixture(loop_scope="module")
async def page(browser: Browser, node: RunningNode) -> AsyncIterator[BrowserPage]:
    context = await browser.new_context(viewport={"width": 1280, "height": 720})
    opened = await context.new_page()
    watched = BrowserPage(opened, node)

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            watched.errors.append(message.text)

    def request(req: Request) -> None:
        if not req.url.startswith((node.url + "/", node.other + "/", "data:", "blob:")):
            watched.foreign.append(req.url)
        elif req.url.startswith(node.other + "/"):
            watched.to_other.append(req.url)

    opened.on("console", console)
    opened.on("pageerror", lambda err: watched.errors.append(str(err)))
    opened.on("request", request)
    opened.on(
        "response",
        lambda r: watched.errors.append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )
    try:
        yield watched
    finally:
        await context.close()
