"""Benchmark: opening the editor on a 24 h archive in headless Chromium (issue 19).

    .venv/bin/python bench/editor.py [--runs 5] [--hours 24]

Builds a store holding ``--hours`` of 2 s segments of the simulator's 640x360 video (the last
hour written segment by segment with continuous timestamps, the hours before as hard links to
a few of them, so the listings are a real day's 43 200 names), serves it with the restreamer,
and opens ``/editor/`` on the whole range, playing from half an hour before its end. Measured from
navigation start, per run: the first video frame presented (``requestVideoFrameCallback``) and
the timeline drawn with its coverage; and the bytes transferred. The first run is cold; the
others reuse the browser's cache (warm) and the median of those is reported against the
targets (1.5 s to the first frame, 0.5 s to the timeline). The machine's load average is
printed before and after: other work on the machine moves these times a lot.

The peer, in the same run: a bare page with only hls.js and a ``<video>`` playing the same
playlist from the same instant, served by the same node: what any hls.js player pays. The ratio
editor / bare says what the editor adds to it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from playwright.async_api import Browser, async_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository, for tests.web
from tests.web.chromium import ARGS, CHROMIUM

from streamvault.restreamer.app import create_app
from streamvault.sim.video import LoopSpec, build_segment, render_loop
from streamvault.store.disk import SegmentStore
from streamvault.store.naming import format_name
from streamvault.timeutil import format_iso, hour_name

SEGMENT = 2.0
TARGET_FRAME = 1.5
TARGET_TIMELINE = 0.5

# Records when the first frame is presented and when the timeline has drawn its coverage.
PROBE = """
window.__bench = {};
document.addEventListener('DOMContentLoaded', () => {
  const video = document.querySelector('video');
  if (!video) return;
  video.autoplay = true;
  video.muted = true;
  const frame = () => { window.__bench.frame = performance.now(); };
  video.requestVideoFrameCallback(frame);
  const poll = () => {
    const canvas = document.getElementById('timeline');
    if (canvas && Number(canvas.dataset.spans) > 0) window.__bench.timeline = performance.now();
    else requestAnimationFrame(poll);
  };
  if (document.getElementById('timeline')) requestAnimationFrame(poll);
});
"""

BARE = """<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"></head>
<body><video id="v" muted autoplay playsinline></video><script type="module">
import Hls from '/editor/vendor/hls-1.7.4.light.min.mjs';
const video = document.getElementById('v');
const at = new Date(new URLSearchParams(location.hash.slice(1)).get('t')).getTime();
const hls = new Hls({ enableWorker: false });
hls.on(Hls.Events.LEVEL_LOADED, (_e, data) => {
  const f = data.details.fragments.find((f) => f.programDateTime + f.duration * 1000 > at);
  if (f) video.currentTime = f.start + (at - f.programDateTime) / 1000;
});
hls.loadSource(new URLSearchParams(location.hash.slice(1)).get('src'));
hls.attachMedia(video);
</script></body></html>"""


async def build_archive(base: Path, cache: Path, hours: int, end: datetime) -> datetime:
    """``hours`` of segments ending at ``end``; returns the start."""
    loop = await render_loop(LoopSpec(640, 360, 30, SEGMENT, 30), cache)
    store = SegmentStore(str(base))
    total = int(hours * 3600 / SEGMENT)
    start = end - timedelta(seconds=total * SEGMENT)
    real = int(3600 / SEGMENT)  # the last hour: real, continuous segments
    pool = []
    for index in range(total):
        when = start + timedelta(seconds=index * SEGMENT)
        if index >= total - real or len(pool) < 30:
            written = store.write_segment(
                "bench",
                "source",
                when,
                SEGMENT,
                "full",
                build_segment(loop, "bench", "source", index),
            )
            if len(pool) < 30:
                pool.append(written)
            continue
        model = pool[index % len(pool)]
        directory = base / "bench" / "source" / hour_name(when)
        directory.mkdir(parents=True, exist_ok=True)
        name = format_name(when, SEGMENT, "full", model.hash)
        os.link(base / model.path, directory / name)
    return start


TRACE = """performance.getEntriesByType('resource').map((e) =>
  `${e.startTime.toFixed(0).padStart(5)} ${e.responseEnd.toFixed(0).padStart(5)} ` +
  `${e.name.replace(location.origin, '').slice(0, 90)}`).join('\\n')"""


#: The page is measured: its first frame is shown, and the editor's timeline drawn.
DONE = "window.__bench.frame && (window.__bench.timeline || !document.getElementById('timeline'))"


def _size_of(request: Any, sizes: list[asyncio.Future[Any]]) -> None:
    future = asyncio.ensure_future(request.sizes())
    future.add_done_callback(lambda f: f.cancelled() or f.exception())
    sizes.append(future)


async def measure(
    browser: Browser, url: str, runs: int, trace: bool = False
) -> list[dict[str, float]]:
    context = await browser.new_context(viewport={"width": 1280, "height": 720})
    await context.add_init_script(PROBE)
    results = []
    for _ in range(runs):
        page = await context.new_page()
        sizes: list[asyncio.Future[Any]] = []
        page.on("requestfinished", lambda request, sizes=sizes: _size_of(request, sizes))
        await page.goto(url)
        await page.wait_for_function(DONE, timeout=60_000)
        probe = await page.evaluate("window.__bench")
        if trace:
            print(await page.evaluate(TRACE))
        await asyncio.sleep(0.5)  # let the last size records arrive
        done = [s.result() for s in sizes if s.done() and not s.exception()]
        moved = sum(s["responseBodySize"] + s["responseHeadersSize"] for s in done)
        results.append(
            {
                "frame": probe["frame"] / 1000,
                "timeline": probe.get("timeline", float("nan")) / 1000,
                "bytes": float(moved),
                "requests": float(len(done)),
            }
        )
        await page.close()
    await context.close()
    return results


def report(name: str, results: list[dict[str, float]]) -> dict[str, float]:
    cold, warm = results[0], results[1:] or results
    median = {key: statistics.median(r[key] for r in warm) for key in cold}
    print(
        f"{name:7s} cold: frame {cold['frame']:.3f} s, timeline {cold['timeline']:.3f} s, "
        f"{cold['bytes'] / 1e6:.2f} MB in {cold['requests']:.0f} requests"
    )
    print(
        f"{name:7s} warm (median of {len(warm)}): frame {median['frame']:.3f} s, "
        f"timeline {median['timeline']:.3f} s, {median['bytes'] / 1e6:.2f} MB "
        f"in {median['requests']:.0f} requests"
    )
    return median


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--chromium", default=CHROMIUM)
    parser.add_argument("--trace", action="store_true", help="print each page's requests")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        base, cache = Path(work) / "store", Path(work) / "cache"
        end = datetime.now(UTC).replace(microsecond=0)
        start = await build_archive(base, cache, args.hours, end)
        app = create_app(str(base))

        async def bare(request: web.Request) -> web.Response:
            return web.Response(text=BARE, content_type="text/html")

        app.router.add_get("/bench/bare.html", bare)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        node = f"http://127.0.0.1:{port}"
        play_at = end - timedelta(minutes=30)  # inside the real, continuous last hour
        span = f"start={format_iso(start)}&end={format_iso(end)}"
        editor = f"{node}/editor/#channel=bench&quality=source&{span}&t={format_iso(play_at)}"
        playlist = f"{node}/playlist/bench/source.m3u8?{span}"
        bare_url = (
            f"{node}/bench/bare.html#src={playlist.replace('&', '%26')}&t={format_iso(play_at)}"
        )
        count = int(args.hours * 3600 / SEGMENT)
        print(f"archive: {args.hours} h, {count} segments; {args.runs} runs each")
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        try:
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(executable_path=args.chromium, args=ARGS)
                editor_median = report(
                    "editor", await measure(browser, editor, args.runs, args.trace)
                )
                bare_median = report("bare", await measure(browser, bare_url, args.runs))
                await browser.close()
        finally:
            await runner.cleanup()
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    ratio = editor_median["frame"] / bare_median["frame"]
    print(
        f"first frame: editor {editor_median['frame']:.3f} s / bare hls.js "
        f"{bare_median['frame']:.3f} s = {ratio:.2f}x; target {TARGET_FRAME} s: "
        f"{'met' if editor_median['frame'] <= TARGET_FRAME else 'MISSED'}"
    )
    print(
        f"timeline drawn: {editor_median['timeline']:.3f} s; target {TARGET_TIMELINE} s: "
        f"{'met' if editor_median['timeline'] <= TARGET_TIMELINE else 'MISSED'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
