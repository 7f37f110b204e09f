"""Chat replay in the editor (SPEC §13, §14), in a real browser: the pane shows the archived
chat (read through the node's ``/CHANNEL/chat.json``) up to the frame shown, follows playback
and seeks, asks for it in cached windows, keeps a bounded list, shows hostile chat as text, and
says so when there is no chat or the node cannot give it."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.async_api import Route

from streamvault.chat.messages import Message
from streamvault.timeutil import parse_time, to_seconds

from .chatfill import HOSTILE_NAME, HOSTILE_TEXT
from .conftest import BrowserPage
from .test_editor import open_editor, seek

pytestmark = pytest.mark.asyncio(loop_scope="module")

WINDOW = 120  # seconds: chat.js's window
KEEP = 150  # chat.js's bound on the messages in the pane

#: what the pane shows: the time it was drawn for, and each message's key, time and text
SNAPSHOT = """(() => { const note = document.getElementById('chat-note'); return {
  time: Number(document.getElementById('chat-list').dataset.at),
  wall: window.editor.player.wallTime() && window.editor.player.wallTime().getTime() / 1000,
  items: [...document.querySelectorAll('#chat-list li')].map((li) => ({
    key: li.dataset.key, time: Number(li.dataset.time), text: li.textContent,
  })),
  note: note.hidden ? '' : note.textContent,
}; })()"""


def key_of(message: Message) -> str:
    ident = message["tags"]["id"]
    assert isinstance(ident, str)
    return ident


def expected_at(chat: list[Message], time: float) -> list[str]:
    """The keys the pane should list when drawn for ``time``: the shown commands at or
    before it, of its window and the one before, the newest KEEP of them."""
    window = int(time // WINDOW)
    low, high = (window - 1) * WINDOW, (window + 1) * WINDOW
    wanted = [
        m
        for m in chat
        if m["command"] in ("PRIVMSG", "USERNOTICE")
        and m["time"] <= time
        and low <= m["time"] + m["time_range"]
        and m["time"] < high
    ]
    wanted.sort(key=lambda m: m["time"])
    return [key_of(m) for m in wanted][-KEEP:]


async def snapshot(page: BrowserPage) -> dict[str, Any]:
    result = await page.page.evaluate(SNAPSHOT)
    assert isinstance(result, dict)
    return result


async def pane_shows(page: BrowserPage, when: datetime) -> dict[str, Any]:
    """Wait until the pane lists the chat of a time within 0.3 s of ``when``, and return it."""
    at = to_seconds(when)
    await page.page.wait_for_function(
        f"Math.abs(Number(document.getElementById('chat-list').dataset.at || 0) - {at}) < 0.3",
        timeout=15_000,
    )
    return await snapshot(page)


async def open_past(page: BrowserPage, second: float) -> None:
    """The editor on the whole past recording, at ``second`` into it."""
    node = page.node
    start, end = node.past(0), node.past(120)
    await open_editor(
        page, channel="past", quality="source", start=start, end=end, t=node.past(second)
    )
    await page.page.wait_for_function("window.editor.player.wallTime() !== null")


def check_pane(shown: dict[str, Any], chat: list[Message]) -> None:
    keys = [item["key"] for item in shown["items"]]
    assert keys == expected_at(chat, shown["time"])
    assert shown["note"] == ""


async def test_chat_follows_playback_and_seeks(page: BrowserPage) -> None:
    node = page.node
    chat_requests: list[str] = []
    page.page.on(
        "request", lambda r: chat_requests.append(r.url) if "/chat.json" in r.url else None
    )
    await open_past(page, 8)
    check_pane(await pane_shows(page, node.past(8)), node.chat)
    # Playing: the newest message shown is never ahead of the frame and keeps up with it.
    await page.page.evaluate("document.getElementById('video').play()")
    later = to_seconds(node.past(13))
    await page.page.wait_for_function(
        f"Number(document.getElementById('chat-list').dataset.at || 0) > {later}", timeout=30_000
    )
    playing = await snapshot(page)
    assert playing["items"][-1]["time"] <= playing["wall"]
    check_pane(playing, node.chat)
    await page.page.evaluate("document.getElementById('video').pause()")
    # Seeking moves the pane, forwards and back; far enough in, it holds KEEP messages.
    for second in (110.0, 30.0):
        await seek(page, node.past(second))
        shown = await pane_shows(page, node.past(second))
        check_pane(shown, node.chat)
        assert shown["items"][-1]["time"] > to_seconds(node.past(second - 2))
    await seek(page, node.past(110))
    assert len((await pane_shows(page, node.past(110)))["items"]) == KEEP
    scrolled = await page.page.evaluate(
        "(() => { const l = document.getElementById('chat-list'); return l.scrollHeight >"
        " l.clientHeight && l.scrollTop + l.clientHeight >= l.scrollHeight - 2; })()"
    )
    assert scrolled, "the pane is not scrolled to the newest message"
    # Windows of WINDOW seconds, each asked for once (they are cached).
    windows = []
    for url in chat_requests:
        params = parse_qs(urlsplit(url).query)
        start, end = (parse_time(params[name][0], utc_only=True) for name in ("start", "end"))
        assert (end - start).total_seconds() == WINDOW
        windows.append(start)
    assert len(windows) == len(set(windows)) and len(windows) <= 6
    await seek(page, node.past(20))
    await pane_shows(page, node.past(20))
    await page.screenshot("editor-chat")
    assert page.errors == [] and page.foreign == []


async def test_chat_shows_markup_as_text(page: BrowserPage) -> None:
    node = page.node
    await open_past(page, 52)
    await pane_shows(page, node.past(52))
    hostile = page.page.locator("#chat-list li", has_text="Mallory")
    assert await hostile.count() == 1
    assert await hostile.locator("b").inner_text() == HOSTILE_NAME
    assert await hostile.locator("span").inner_text() == HOSTILE_TEXT
    assert await hostile.locator("b").evaluate("b => b.style.color") == "rgb(255, 0, 0)"
    viewer = page.page.locator("#chat-list li", has_text="Kappa message").last
    assert await viewer.locator("b").evaluate("b => b.style.color") == "rgb(30, 144, 255)"
    assert re.fullmatch(r"\d\d:\d\d:\d\d", await viewer.locator("time").inner_text())
    assert await page.page.locator("#chat-list img, #chat-list script, #chat-list b b").count() == 0
    assert await page.page.evaluate("window.__pwned === undefined")
    assert page.errors == []


NONE = "No chat archived for this time."
NOTE_IS = "document.getElementById('chat-note').textContent"


async def refuse(route: Route) -> None:
    await route.fulfill(status=503, body="chat store down", content_type="text/plain")


async def test_chat_says_when_there_is_none(page: BrowserPage) -> None:
    await open_editor(page, channel="live", quality="source", live="1")
    await page.page.evaluate("document.getElementById('video').play()")
    note = page.page.locator("#chat-note")
    await page.page.wait_for_function(f"{NOTE_IS} === '{NONE}'", timeout=30_000)
    assert await note.is_visible()
    assert await page.page.locator("#chat-list li").count() == 0
    assert page.errors == []
    # After an error, an empty answer says so again (it does not keep the error shown).
    await page.page.route("**/chat.json?*", refuse)
    await page.page.reload()
    await page.page.wait_for_function(f"{NOTE_IS}.startsWith('Chat unavailable')", timeout=30_000)
    await page.page.unroute("**/chat.json?*", refuse)
    await page.page.evaluate("document.getElementById('video').play()")
    await page.page.wait_for_function(f"{NOTE_IS} === '{NONE}'", timeout=30_000)
    assert await note.is_visible()


async def test_chat_shows_the_request_error_and_recovers(page: BrowserPage) -> None:
    await page.page.route("**/chat.json?*", refuse)
    await open_past(page, 20)
    note = page.page.locator("#chat-note")
    await page.page.wait_for_function(f"{NOTE_IS}.startsWith('Chat unavailable')", timeout=15_000)
    assert await note.inner_text() == "Chat unavailable: 503: chat store down"
    assert "error" in (await note.get_attribute("class") or "")
    # The node answers again: the pane asks again (backing off) and shows the chat.
    await page.page.unroute("**/chat.json?*", refuse)
    await page.page.evaluate("document.getElementById('video').play()")
    await page.page.wait_for_function(
        "document.querySelectorAll('#chat-list li').length > 0", timeout=30_000
    )
    assert await note.is_hidden()
