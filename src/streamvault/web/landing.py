"""The landing page ``/`` (SPEC §5, §13): every channel and quality held, a scaled timeline
of each with time labels, and every hole listed with its times and a link that opens the
editor there. Pure: values in, HTML out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from urllib.parse import urlencode

from ..coverage.spans import Span, holes, video_bounds
from ..timeutil import format_iso

#: Seconds of context shown before and after a hole when the editor opens on it.
CONTEXT = 30.0
_TICKS = (1, 5, 10, 30, 60, 300, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400)
_COLOURS = {"full": "#2e9e4f", "partial": "#e0a526", "hole": "#d43d3d", "none": "#d9d9d9"}
WIDTH = 1000


@dataclass(frozen=True, slots=True)
class StreamView:
    channel: str
    quality: str
    spans: Sequence[Span]


def editor_link(channel: str, quality: str, start: datetime, end: datetime) -> str:
    state = {"channel": channel, "quality": quality, "start": format_iso(start)}
    state["end"] = format_iso(end)
    return "/editor/#" + urlencode(state)


def _label(value: datetime, step: int) -> str:
    if step >= 86400 or (value.hour == 0 and value.minute == 0 and value.second == 0):
        return value.strftime("%b %d")
    return value.strftime("%H:%M:%S" if step < 60 else "%H:%M")


def tick_times(start: datetime, end: datetime, most: int = 12) -> tuple[int, list[datetime]]:
    """Round times for labels: the smallest step giving at most ``most`` of them."""
    seconds = (end - start).total_seconds()
    step = next((s for s in _TICKS if seconds / s <= most), _TICKS[-1])
    epoch = start.timestamp()
    first = start + timedelta(seconds=(-epoch) % step)
    ticks: list[datetime] = []
    while first <= end and len(ticks) <= most:
        ticks.append(first)
        first += timedelta(seconds=step)
    return step, ticks


def _precise(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def _when(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC")


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {secs:02d} s"


def timeline_svg(view: StreamView, start: datetime, end: datetime) -> str:
    total = (end - start).total_seconds()

    def x(value: datetime) -> float:
        return round((value - start).total_seconds() / total * WIDTH, 2)

    parts = [
        f'<svg class="timeline" viewBox="0 0 {WIDTH} 46" preserveAspectRatio="none" '
        f'role="img" aria-label="coverage of {escape(view.channel)} {escape(view.quality)}">'
    ]
    for span in view.spans:
        # A hole is drawn at least 2 units wide, so a 6 s hole in a day stays visible.
        width = max(x(span.end) - x(span.start), 2.0 if span.kind == "hole" else 0.0)
        parts.append(
            f'<rect x="{x(span.start)}" y="0" width="{width}" height="28" '
            f'fill="{_COLOURS[span.kind]}"><title>{span.kind}: {escape(format_iso(span.start))}'
            f" to {escape(format_iso(span.end))}</title></rect>"
        )
    step, ticks = tick_times(start, end)
    for tick in ticks:
        parts.append(
            f'<line x1="{x(tick)}" x2="{x(tick)}" y1="28" y2="33" stroke="#333"/>'
            f'<text x="{x(tick)}" y="44" font-size="10" text-anchor="middle">'
            f"{_label(tick, step)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _hole_rows(view: StreamView) -> str:
    found = holes(view.spans)
    if not found:
        return '<p class="ok">No holes in this range.</p>'
    rows = []
    for hole in found:
        context = timedelta(seconds=CONTEXT)
        link = editor_link(view.channel, view.quality, hole.start - context, hole.end + context)
        rows.append(
            f"<tr><td>{_precise(hole.start)}</td><td>{_precise(hole.end)}</td>"
            f"<td>{_duration(hole.seconds)}</td>"
            f'<td><a href="{escape(link)}">open in editor</a></td></tr>'
        )
    return (
        f'<table class="holes"><caption>{len(found)} hole(s), UTC</caption>'
        "<tr><th>from</th><th>to</th><th>length</th><th></th></tr>" + "".join(rows) + "</table>"
    )


def _stream_section(view: StreamView, start: datetime, end: datetime) -> str:
    video = sum(span.seconds for span in view.spans if span.kind in ("full", "partial"))
    hole_seconds = sum(span.seconds for span in holes(view.spans))
    measured = video + hole_seconds
    ratio = f"{100 * video / measured:.2f} %" if measured else "no data"
    live = "/editor/#" + urlencode({"channel": view.channel, "quality": view.quality, "live": "1"})
    # The timeline spans the video held (a little either side), so a short archive is readable.
    bounds = video_bounds(view.spans)
    if bounds is not None:
        pad = max((bounds[1] - bounds[0]) * 0.02, timedelta(seconds=5))
        start, end = max(start, bounds[0] - pad), min(end, bounds[1] + pad)
    return (
        f'<section class="stream"><h3>{escape(view.quality)} '
        f'<small>coverage {ratio}</small> <a href="{escape(live)}">live in editor</a> '
        f'<a href="{escape(editor_link(view.channel, view.quality, start, end))}">'
        "this range in editor</a></h3>"
        f'<p class="span">{_when(start)} to {_when(end)}</p>'
        f"{timeline_svg(view, start, end)}{_hole_rows(view)}</section>"
    )


_STYLE = """
body{font:15px/1.4 system-ui,sans-serif;margin:0 auto;max-width:1200px;padding:0 16px;color:#222}
header{display:flex;gap:18px;align-items:baseline;border-bottom:1px solid #ccc}
header nav a{margin-right:12px}
.timeline{width:100%;height:46px;display:block;margin:4px 0}
.legend span{display:inline-block;margin-right:14px}
.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-1px}
table.holes{border-collapse:collapse;margin:4px 0 12px}
table.holes td,table.holes th{padding:2px 10px;border-bottom:1px solid #eee;text-align:left}
caption{text-align:left;font-weight:600}
h3 small{font-weight:400;color:#555;margin:0 10px}
.ok{color:#2e7d32}\n.span{margin:0;color:#555;font-size:13px}
"""


def render_landing(views: Sequence[StreamView], start: datetime, end: datetime, node: str) -> str:
    legend = "".join(
        f'<span><i style="background:{colour}"></i>{name}</span>'
        for name, colour in (
            ("full video", _COLOURS["full"]),
            ("partial/suspect", _COLOURS["partial"]),
            ("hole", _COLOURS["hole"]),
            ("no data", _COLOURS["none"]),
        )
    )
    body: list[str] = []
    channel = None
    for view in views:
        if view.channel != channel:
            channel = view.channel
            body.append(f"<h2>{escape(channel)}</h2>")
        body.append(_stream_section(view, start, end))
    if not views:
        body.append("<p>This node holds no video yet.</p>")
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,">'
        f"<title>streamvault — {escape(node)}</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<style>{_STYLE}</style></head><body>"
        f'<header><h1>streamvault</h1><nav><a href="/editor/">Editor</a>'
        '<a href="/openapi.json">API</a><a href="/metrics">Metrics</a></nav></header>'
        f"<p>Coverage from {_when(start)} to {_when(end)}. "
        '<a href="?hours=1">last hour</a> · <a href="?hours=24">last day</a> · '
        '<a href="?hours=168">last week</a></p>'
        f'<p class="legend">{legend}</p>{"".join(body)}</body></html>'
    )
