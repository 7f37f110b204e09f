"""Coverage maps: the PNG and the HTML page (SPEC §9). Pure rendering: values in, bytes out.

Layout of the PNG: one pixel per 2 s, 300 pixels per column (10 minutes), time running down
each column and the columns left to right; column 0 starts at the first whole hour that has
data, the last column ends with the last such hour (6 columns per hour). Three colours:

- no data (:data:`NO_DATA_RGB`): nothing recorded, or the pixel contains (part of) a hole;
- full (:data:`FULL_RGB`): covered by full segments;
- partial (:data:`PARTIAL_RGB`): only partial or suspect segments.

A pixel holding both full and non-full data is full; a hole anywhere in it wins over both.
"""

from __future__ import annotations

import html
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

from PIL import Image

from ..timeutil import format_iso, parse_hour
from .compute import HOUR, HourCoverage, Span

PIXEL_SECONDS = 2
COLUMN_PIXELS = 300
PIXELS_PER_HOUR = 3600 // PIXEL_SECONDS
MAPS_DIR = "coverage-maps"

NO_DATA, FULL, PARTIAL = 0, 1, 2
NO_DATA_RGB = (40, 40, 40)
FULL_RGB = (46, 164, 79)
PARTIAL_RGB = (245, 166, 35)
_PALETTE = [*NO_DATA_RGB, *FULL_RGB, *PARTIAL_RGB]
_PIXEL_US = PIXEL_SECONDS * 1_000_000
_US = timedelta(microseconds=1)


def png_name(channel: str, quality: str) -> str:
    return f"{channel}_{quality}_coverage.png"


def html_name(channel: str, quality: str) -> str:
    return f"{channel}_{quality}_coverage.html"


@dataclass(frozen=True, slots=True)
class PixelMap:
    """The map's pixels in time order (one byte per pixel: NO_DATA, FULL or PARTIAL)."""

    origin: datetime  # the time at the top of column 0
    pixels: bytes

    @property
    def columns(self) -> int:
        return len(self.pixels) // COLUMN_PIXELS

    def position(self, when: datetime) -> tuple[int, int]:
        """The (x, y) pixel of the PNG that holds the time ``when``."""
        index = ((when - self.origin) // _US) // _PIXEL_US
        return divmod(index, COLUMN_PIXELS)


def pixel_map(hours: Iterable[HourCoverage]) -> PixelMap | None:
    """Paint the hours (any order); ``None`` when no hour has data."""
    with_data = sorted((h for h in hours if h.has_data), key=lambda h: h.hour)
    if not with_data:
        return None
    origin = parse_hour(with_data[0].hour)
    end = parse_hour(with_data[-1].hour) + HOUR
    pixels = bytearray(((end - origin) // HOUR) * PIXELS_PER_HOUR)
    for hour in with_data:
        _paint(pixels, origin, hour.coverage.partial_spans, PARTIAL)
    for hour in with_data:
        _paint(pixels, origin, hour.coverage.full_runs, FULL)
    for hour in with_data:
        _paint(pixels, origin, ((h.start, h.end) for h in hour.coverage.holes), NO_DATA)
    return PixelMap(origin, bytes(pixels))


def _paint(pixels: bytearray, origin: datetime, spans: Iterable[Span], value: int) -> None:
    """Set every pixel that a span touches (even in part) to ``value``."""
    for start, end in spans:
        first = max(0, ((start - origin) // _US) // _PIXEL_US)
        stop = min(len(pixels), -(-((end - origin) // _US) // _PIXEL_US))
        if stop > first:
            pixels[first:stop] = bytes([value]) * (stop - first)


def render_png(pixel_map: PixelMap) -> bytes:
    """The PNG: ``columns`` wide, 300 high, time down each column."""
    # Rows of the buffer are columns of the map; transposing puts time down the columns.
    image = Image.frombytes("P", (COLUMN_PIXELS, pixel_map.columns), pixel_map.pixels)
    image.putpalette(_PALETTE)
    image = image.transpose(Image.Transpose.TRANSPOSE)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


#: Where a node's restreamer serves ``BASE/coverage-maps/``: wubloader nodes (and streamvault
#: nodes since they learned it) under ``/segments/``, earlier streamvault nodes at the root.
MAPS_PATH = f"/segments/{MAPS_DIR}"
OLD_MAPS_PATH = f"/{MAPS_DIR}"


@dataclass(frozen=True, slots=True)
class Node:
    """A node whose map the page shows: its name and its restreamer's base URL."""

    name: str
    url: str

    def map_url(self, channel: str, quality: str) -> str:
        """The map at the path every wubloader and current streamvault node serves."""
        return f"{self.url.rstrip('/')}{MAPS_PATH}/{quote(png_name(channel, quality))}"

    def old_map_url(self, channel: str, quality: str) -> str:
        """The map where streamvault nodes before that served it (the page falls back to it)."""
        return f"{self.url.rstrip('/')}{OLD_MAPS_PATH}/{quote(png_name(channel, quality))}"


def render_html(
    channel: str,
    quality: str,
    nodes: Sequence[Node],
    now: datetime,
    refresh_seconds: int = 60,
    recent: Sequence[HourCoverage] = (),
) -> bytes:
    """The page showing every node's map, reloading itself every ``refresh_seconds``.

    Without nodes it shows this node's map by its relative file name (it sits beside the page).
    ``recent`` hours (newest first) add a table of this node's figures.
    """
    title = f"Coverage of {channel} / {quality}"
    stamp = int(now.timestamp())
    maps: list[tuple[str, str, str | None, str | None]] = [
        (node.name, node.map_url(channel, quality), node.url, node.old_map_url(channel, quality))
        for node in nodes
    ] or [("this node", quote(png_name(channel, quality)), None, None)]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="refresh" content="{max(1, int(refresh_seconds))}">',
        f"<title>{html.escape(title)}</title>",
        "<style>body{font-family:sans-serif;background:#fafafa}img{image-rendering:pixelated;"
        "border:1px solid #999}td,th{padding:2px 8px;text-align:right}"
        ".sw{display:inline-block;width:1em;height:1em;vertical-align:middle}</style>",
        "</head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>Updated {html.escape(format_iso(now))}. One pixel is 2 s; each column is 10 minutes,"
        " time running down; six columns make an hour; column 0 starts at the node's first hour"
        " with data. " + _legend() + "</p>",
    ]
    for name, src, link, fallback in maps:
        parts.append(f"<h2>{html.escape(name)}</h2>")
        # a node that serves its maps only at the old path gets asked there instead
        retry = (
            ""
            if fallback is None
            else f" onerror=\"this.onerror=null;this.src='{html.escape(fallback)}?t={stamp}'\""
        )
        image = (
            f'<img src="{html.escape(src)}?t={stamp}"{retry}'
            f' alt="coverage map of {html.escape(name)}">'
        )
        if link is not None:
            image = f'<a href="{html.escape(link)}">{image}</a>'
        parts.append(f"<p>{image}</p>")
    if recent:
        parts.append(_table(recent))
    parts.append("</body></html>")
    return ("\n".join(parts) + "\n").encode("utf-8")


def _legend() -> str:
    items = [(FULL_RGB, "full"), (PARTIAL_RGB, "only partial/suspect"), (NO_DATA_RGB, "no data")]
    return " ".join(
        f'<span class="sw" style="background:rgb{rgb}"></span> {label}' for rgb, label in items
    )


def _table(recent: Sequence[HourCoverage]) -> str:
    rows = [
        "<h2>This node, recent hours</h2><table><tr><th>hour</th><th>segments</th>"
        "<th>raw</th><th>editable</th><th>holes</th><th>hole s</th><th>overlaps</th>"
        "<th>bad names</th></tr>"
    ]
    for hour in recent:
        c = hour.coverage
        rows.append(
            f"<tr><td>{html.escape(hour.hour)}</td><td>{c.segment_count}</td>"
            f"<td>{c.raw_ratio:.2%}</td><td>{c.editable_ratio:.2%}</td><td>{len(c.holes)}</td>"
            f"<td>{c.hole_seconds:.3f}</td><td>{c.overlap_count}</td><td>{hour.bad}</td></tr>"
        )
    rows.append("</table>")
    return "\n".join(rows)
