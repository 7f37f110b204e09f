"""The editor in a real browser (Debian's Chromium through Playwright) against a node fed by
the simulator: it loads cleanly and only from its node, plays past video, the live edge and
across a hole, and marks ranges with the keyboard. Screenshots go to test-output/editor/."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

import pytest

from streamvault.timeutil import format_iso, parse_time

from .conftest import BrowserPage, RunningNode

pytestmark = pytest.mark.asyncio(loop_scope="module")


def editor_url(node: RunningNode, **state: str | datetime) -> str:
    encoded = {k: format_iso(v) if isinstance(v, datetime) else v for k, v in state.items()}
    return f"{node.url}/editor/#{urlencode(encoded)}"


async def open_editor(page: BrowserPage, **state: str | datetime) -> None:
    await page.page.goto(editor_url(page.node, **state))
    await page.page.wait_for_selector("body[data-ready='1']", timeout=30_000)


async def media_time_passes(page: BrowserPage, seconds: float) -> None:
    """Wait until the video has played ``seconds`` more (currentTime advances)."""
    start = await page.page.evaluate("document.getElementById('video').currentTime")
    await page.page.wait_for_function(
        f"document.getElementById('video').currentTime > {start + seconds}", timeout=30_000
    )


async def wall_time(page: BrowserPage) -> str | None:
    result = await page.page.evaluate(
        "(() => { const t = window.editor.player.wallTime(); return t && t.toISOString(); })()"
    )
    return result if isinstance(result, str) else None


async def test_editor_loads_cleanly_from_its_own_node(page: BrowserPage) -> None:
    node = page.node
    await open_editor(
        page, channel="past", quality="source", start=node.past(0), end=node.past(120)
    )
    await page.page.wait_for_function(
        "Number(document.getElementById('timeline').dataset.drawn) > 0", timeout=10_000
    )
    await page.page.evaluate("document.getElementById('video').play()")
    await media_time_passes(page, 1.0)
    await page.page.wait_for_function("window.editor.timeline.waveform !== null", timeout=20_000)
    await page.screenshot("editor-past-range")
    assert page.errors == []
    assert page.foreign == []
    channels = await page.page.locator("#channel option").all_inner_texts()
    assert channels == ["live", "past"]
    qualities = await page.page.locator("#quality option").all_inner_texts()
    assert qualities == ["source", "480p"]
    assert await page.page.locator("#fps").inner_text() == "30 fps"


async def test_video_plays_a_past_range_and_across_its_hole(page: BrowserPage) -> None:
    node = page.node
    await open_editor(
        page,
        channel="past",
        quality="source",
        start=node.past(0),
        end=node.past(120),
        t=node.past(36),
    )
    await page.page.wait_for_function("window.editor.player.wallTime() !== null")
    before = await wall_time(page)
    assert before is not None and before < format_iso(node.past(40))
    await page.page.evaluate("document.getElementById('video').play()")
    # The hole runs 40-46 s: the player goes on past it, into the video after it.
    after_hole = node.past(47).isoformat().replace("+00:00", "Z")
    await page.page.wait_for_function(
        f"(window.editor.player.wallTime() || new Date(0)).toISOString() > '{after_hole}'",
        timeout=40_000,
    )
    await media_time_passes(page, 0.5)
    await page.screenshot("editor-after-hole")
    assert page.errors == []


async def test_video_plays_at_the_live_edge(page: BrowserPage) -> None:
    await open_editor(page, channel="live", quality="source", live="1")
    await page.page.evaluate("document.getElementById('video').play()")
    await media_time_passes(page, 2.0)
    shown = await wall_time(page)
    assert shown is not None
    lag = await page.page.evaluate(f"(Date.now() - Date.parse('{shown}')) / 1000")
    assert lag < 30, f"the live view plays {lag:.0f} s behind now"
    assert await page.page.locator("#to-live").is_visible()
    await page.screenshot("editor-live")
    assert page.errors == []
    assert page.foreign == []


async def seek(page: BrowserPage, when: datetime) -> None:
    iso = format_iso(when)
    await page.page.evaluate(f"window.editor.player.seekWall(new Date('{iso}'))")
    await page.page.wait_for_function(
        f"Math.abs(window.editor.player.wallTime() - new Date('{iso}')) < 100", timeout=10_000
    )


async def test_keys_mark_ranges_and_a_transition_joins_them(page: BrowserPage) -> None:
    node = page.node
    await open_editor(
        page, channel="past", quality="source", start=node.past(0), end=node.past(120)
    )
    await page.page.wait_for_function("window.editor.player.fragments.length > 0")
    await seek(page, node.past(4))
    await page.page.keyboard.press("[")
    await seek(page, node.past(10))
    await page.page.keyboard.press("]")
    await page.page.click("#add-range")
    await seek(page, node.past(60))
    await page.page.keyboard.press("[")
    await seek(page, node.past(70))
    await page.page.keyboard.press("]")
    await page.page.select_option(".transition-type", "fade")
    starts = await page.page.locator(".range-start").evaluate_all("els => els.map(e => e.value)")
    ends = await page.page.locator(".range-end").evaluate_all("els => els.map(e => e.value)")
    marked = [parse_time(text, utc_only=True) for text in (starts[0], ends[0], starts[1], ends[1])]
    wanted = [node.past(4), node.past(10), node.past(60), node.past(70)]
    assert all(abs((a - b).total_seconds()) < 0.2 for a, b in zip(marked, wanted, strict=True))
    event = await page.page.evaluate("window.editor.edit.toEvent('past', 'source')")
    assert [r["transition"] for r in event["ranges"]] == [{"type": "fade", "duration": 1}, None]
    link = await page.page.get_attribute("#download-link", "href")
    assert link is not None and link.count("range=") == 2
    await page.screenshot("editor-two-ranges")
    assert page.errors == []


async def test_title_and_description_limits_show_as_typed(page: BrowserPage) -> None:
    node = page.node
    await open_editor(page, channel="past", quality="source", start=node.past(0), end=node.past(60))
    await page.page.fill("#title", "x" * 101)
    assert await page.page.locator("#title-count").inner_text() == "101 / 100"
    assert "over" in (await page.page.get_attribute("#title-count", "class") or "")
    await page.page.fill("#title", "Host shaves his head")
    assert await page.page.locator("#title-count").inner_text() == "20 / 100"
    await page.page.fill("#description", "y" * 5001)
    assert await page.page.locator("#description-count").inner_text() == "5001 / 5000"


async def test_thumbnail_is_the_frame_shown(page: BrowserPage) -> None:
    node = page.node
    await open_editor(
        page,
        channel="past",
        quality="source",
        start=node.past(0),
        end=node.past(60),
        t=node.past(8),
    )
    await page.page.wait_for_function("window.editor.player.wallTime() !== null")
    await page.page.click("#thumb-set")
    await page.page.wait_for_function(
        "document.getElementById('thumb').complete && document.getElementById('thumb').naturalWidth"
    )
    thumb = page.page.locator("#thumb")
    size = await thumb.evaluate("img => [img.naturalWidth, img.naturalHeight]")
    assert size == [160, 90]


async def test_landing_page_lists_holes_with_links_into_the_editor(page: BrowserPage) -> None:
    node = page.node
    await page.page.goto(node.url + "/?hours=48")
    text = await page.page.inner_text("body")
    assert "past" in text and "live" in text
    rows = page.page.locator("table.holes").first.locator("tr")
    assert await page.page.locator("table.holes").count() == 2  # past: source and 480p
    assert await rows.count() == 2  # the header and the one hole of past/source
    hole_row = await rows.nth(1).inner_text()
    assert node.past(40).strftime("%Y-%m-%d %H:%M:%S") in hole_row
    await page.screenshot("landing")
    await rows.nth(1).locator("a").click()
    await page.page.wait_for_selector("body[data-ready='1']", timeout=30_000)
    start = await page.page.input_value("#range-start")
    assert start.startswith(node.past(10).strftime("%Y-%m-%d %H:%M:%S"))
    await page.screenshot("editor-from-hole")
    assert page.errors == []


async def media_time(page: BrowserPage) -> float:
    value = await page.page.evaluate("document.getElementById('video').currentTime")
    return float(value)


async def test_the_keyboard_set(page: BrowserPage) -> None:
    node = page.node
    await open_editor(
        page,
        channel="past",
        quality="source",
        start=node.past(0),
        end=node.past(100),
        t=node.past(20),
    )
    await page.page.wait_for_function("window.editor.player.wallTime() !== null")
    await seek(page, node.past(20))
    keyboard = page.page.keyboard
    for key, wanted in (("l", 30), ("j", 20), ("Shift+L", 21), ("Shift+J", 20), ("ArrowRight", 25),
                        ("ArrowLeft", 20), ("5", 50), ("0", 0)):  # fmt: skip
        await keyboard.press(key)
        iso = format_iso(node.past(wanted))
        await page.page.wait_for_function(
            f"Math.abs(window.editor.player.wallTime() - new Date('{iso}')) < 150",
            timeout=10_000,
        )
    before = await media_time(page)
    await keyboard.press(".")
    await keyboard.press(".")
    assert abs(await media_time(page) - before - 2 / 30) < 0.005  # two frames at 30 fps
    await keyboard.press(",")
    assert abs(await media_time(page) - before - 1 / 30) < 0.005
    await keyboard.press("=")
    await keyboard.press("=")
    assert await page.page.evaluate("document.getElementById('video').playbackRate") == 1.5
    for _ in range(8):
        await keyboard.press("-")
    assert await page.page.evaluate("document.getElementById('video').playbackRate") == 0.25
    await keyboard.press("k")
    await page.page.wait_for_function("!document.getElementById('video').paused")
    await keyboard.press(" ")
    await page.page.wait_for_function("document.getElementById('video').paused")
    assert page.errors == []


VIEW = "[window.editor.timeline.viewStart, window.editor.timeline.viewEnd].map(d => +d)"


async def test_a_copied_link_reopens_the_same_view(page: BrowserPage) -> None:
    node = page.node
    await open_editor(page, channel="past", quality="480p", start=node.past(0), end=node.past(100))
    await page.page.wait_for_function("window.editor.player.fragments.length > 0")
    await seek(page, node.past(33))
    await page.page.click("[data-zoom='10']")
    await page.page.click("#copy-link")
    link = page.page.url
    view = await page.page.evaluate(VIEW)
    again = await page.page.context.new_page()
    await again.goto(link)
    await again.wait_for_selector("body[data-ready='1']")
    await again.wait_for_function("window.editor.player.wallTime() !== null")
    shown = await again.evaluate("window.editor.player.wallTime().toISOString()")
    assert abs((parse_time(shown, utc_only=True) - node.past(33)).total_seconds()) < 0.2
    assert await again.input_value("#quality") == "480p"
    assert await again.evaluate(VIEW) == view
    await again.close()


async def test_switching_to_another_node_plays_from_it(page: BrowserPage) -> None:
    node = page.node
    await open_editor(
        page, channel="past", quality="source", start=node.past(0), end=node.past(100)
    )
    await page.page.evaluate(
        f"localStorage.setItem('streamvault.nodes', JSON.stringify(['{node.other}']))"
    )
    await page.page.reload()
    await page.page.wait_for_selector("body[data-ready='1']")
    await page.page.select_option("#node", node.other)
    # the player that loads from the other node, not the one it replaces
    await page.page.wait_for_function(
        f"(window.editor.player.hls?.url || '').startsWith('{node.other}/')"
        " && window.editor.player.fragments.length > 0"
    )
    await page.page.evaluate("document.getElementById('video').play()")
    await media_time_passes(page, 1.0)
    assert any("/playlist/past/source.m3u8" in url for url in page.to_other)
    assert any("/segments/past/source/" in url for url in page.to_other)
    assert "node=" in page.page.url
    assert page.errors == [] and page.foreign == []


async def test_transition_preview_plays_the_join_and_chapters_mark_the_timeline(
    page: BrowserPage,
) -> None:
    node = page.node
    await open_editor(
        page, channel="past", quality="source", start=node.past(0), end=node.past(120)
    )
    await page.page.wait_for_function("window.editor.player.fragments.length > 0")
    for start, end in ((4, 10), (60, 70)):
        if start != 4:
            await page.page.click("#add-range")
        await seek(page, node.past(start))
        await page.page.keyboard.press("[")
        await seek(page, node.past(end))
        await page.page.keyboard.press("]")
    await seek(page, node.past(64))
    await page.page.click("#add-chapter")
    await page.page.fill("#chapters input", "The big moment")
    chapters = await page.page.evaluate("window.editor.timeline.chapters.map(c => c.title)")
    assert chapters == ["The big moment"]
    # Preview: three seconds before the first range ends, then on into the second range.
    await page.page.click(".transition button")
    iso = format_iso(node.past(61))
    await page.page.wait_for_function(
        f"window.editor.player.wallTime() > new Date('{iso}')", timeout=20_000
    )
    await page.screenshot("editor-transition-preview")
    assert page.errors == []
