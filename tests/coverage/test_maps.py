from __future__ import annotations

import io
from datetime import timedelta

from PIL import Image

from streamvault.coverage.compute import HourCoverage, hour_coverage
from streamvault.coverage.maps import (
    FULL_RGB,
    NO_DATA_RGB,
    PARTIAL_RGB,
    Node,
    pixel_map,
    render_html,
    render_png,
)
from streamvault.store.naming import Segment

from .builders import H0, HOUR0, at, hour_at, listing, run, seg


def hours_with_a_hole() -> list[HourCoverage]:
    """HOUR0 full except a hole [605, 609) and partial data [1000, 1004); an hour without data
    (only a bad name) before it and a second full hour after it."""
    segments: list[Segment] = [
        *run(0, 302),  # [0, 604)
        seg(604, 1.0),  # [604, 605)
        *run(609, 195),  # [609, 999)
        seg(999, 1.0),  # [999, 1000)
        *run(1000, 2, type="partial"),  # [1000, 1004)
        *run(1004, 1298),  # [1004, 3600)
    ]
    before = hour_coverage(hour_at(-1), listing([], bad=["bad.ts"]), next_has_data=True)
    hour0 = hour_coverage(HOUR0, listing(segments), next_has_data=True)
    hour1 = hour_coverage(hour_at(1), listing(run(3600, 1800)), previous_has_data=True)
    return [hour1, before, hour0]


def decode(png: bytes) -> Image.Image:
    return Image.open(io.BytesIO(png)).convert("RGB")


def test_map_starts_at_the_first_hour_with_data_and_has_six_columns_per_hour() -> None:
    pixels = pixel_map(hours_with_a_hole())
    assert pixels is not None
    assert pixels.origin == H0
    image = decode(render_png(pixels))
    assert image.size == (12, 300)


def test_a_hole_is_the_no_data_colour_at_exactly_its_pixels() -> None:
    pixels = pixel_map(hours_with_a_hole())
    assert pixels is not None
    image = decode(render_png(pixels))
    # The hole [605, 609) touches pixels 302 (604-606), 303 and 304 (608-610): column 1, rows 2-4.
    assert pixels.position(at(605)) == (1, 2)
    assert image.getpixel((1, 1)) == FULL_RGB
    assert [image.getpixel((1, y)) for y in (2, 3, 4)] == [NO_DATA_RGB] * 3
    assert image.getpixel((1, 5)) == FULL_RGB
    # Partial data [1000, 1004): pixels 500 and 501, column 1, rows 200 and 201.
    assert pixels.position(at(1000)) == (1, 200)
    assert image.getpixel((1, 199)) == FULL_RGB
    assert [image.getpixel((1, y)) for y in (200, 201)] == [PARTIAL_RGB] * 2
    assert image.getpixel((1, 202)) == FULL_RGB
    # The first and last pixels of the map.
    assert image.getpixel((0, 0)) == FULL_RGB
    assert image.getpixel((11, 299)) == FULL_RGB


def test_hours_without_data_between_hours_with_data_are_no_data_columns() -> None:
    hour0 = hour_coverage(HOUR0, listing(run(0, 1800)))
    hour2 = hour_coverage(hour_at(2), listing(run(7200, 900)))
    pixels = pixel_map([hour0, hour2])
    assert pixels is not None
    image = decode(render_png(pixels))
    assert image.size == (18, 300)
    assert image.getpixel((5, 299)) == FULL_RGB
    assert {image.getpixel((x, y)) for x in range(6, 12) for y in range(300)} == {NO_DATA_RGB}
    assert image.getpixel((12, 0)) == FULL_RGB
    assert image.getpixel((14, 299)) == FULL_RGB  # 7200 + 1800 s: the end of column 14
    assert image.getpixel((15, 0)) == NO_DATA_RGB  # the stream stopped: no data, not a hole


def test_no_map_without_data() -> None:
    assert pixel_map([hour_coverage(HOUR0, listing([], bad=["x.ts"]))]) is None


def test_html_names_every_node_links_its_map_and_refreshes_itself() -> None:
    nodes = [Node("alpha", "http://alpha.example:8000"), Node("b<eta>", "https://beta.example/")]
    page = render_html("desertbus", "source", nodes, H0 + timedelta(hours=1), 30).decode()
    assert '<meta http-equiv="refresh" content="30">' in page
    assert "<h2>alpha</h2>" in page and "<h2>b&lt;eta&gt;</h2>" in page
    png = "coverage-maps/desertbus_source_coverage.png?t="
    assert f'src="http://alpha.example:8000/segments/{png}' in page
    assert f'src="https://beta.example/segments/{png}' in page
    # a node from before /segments/coverage-maps/ is asked at its old path instead
    assert f"this.src='http://alpha.example:8000/{png}" in page
    assert "b<eta>" not in page


def test_html_without_nodes_shows_the_local_map_and_the_recent_hours() -> None:
    hours = hours_with_a_hole()
    page = render_html("c", "q", [], H0, recent=hours).decode()
    assert 'src="c_q_coverage.png?t=' in page
    assert f"<td>{HOUR0}</td>" in page
