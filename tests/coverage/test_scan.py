from __future__ import annotations

import asyncio
import io
import os
import time
from pathlib import Path

from PIL import Image
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from streamvault.clock import FakeClock
from streamvault.coverage.maps import NO_DATA_RGB, Node
from streamvault.coverage.metrics import CoverageCollector
from streamvault.coverage.scan import CoverageScanner
from streamvault.coverage.service import CoverageService
from streamvault.store.disk import SegmentStore

from .builders import H0, HOUR0, hour_at, run, seg, touch_segments


def later_ns() -> int:
    """A file-system "now" far enough after every mtime that each directory counts as settled."""
    return time.time_ns() + 60_000_000_000


def three_hours(base: Path) -> SegmentStore:
    # 6 s segments (fewer files, faster tests). Hour 0 full; a gap [7188, 7204) across the
    # boundary of hours 1 and 2.
    segments = [*run(0, 600, 6.0), *run(3600, 598, 6.0), seg(7204), *run(7206, 599, 6.0)]
    touch_segments(str(base), segments)
    return SegmentStore(str(base))


def test_a_pass_lists_only_the_hour_directories_that_changed(tmp_path: Path) -> None:
    store = three_hours(tmp_path)
    scanner = CoverageScanner(store, fs_now_ns=later_ns)
    [first] = scanner.scan()
    assert first.listed == (HOUR0, hour_at(1), hour_at(2))
    assert [len(h.coverage.holes) for h in scanner.results("c", "q")] == [0, 1, 1]
    [idle] = scanner.scan()
    assert (idle.listed, idle.computed, idle.changed) == ((), (), False)
    touch_segments(str(tmp_path), [seg(7188)])  # the middle hour's end gap, partly filled
    bump_mtime(tmp_path / "c" / "q" / hour_at(1))
    [after] = scanner.scan()
    assert after.listed == (hour_at(1),)
    assert after.computed == (hour_at(1),)
    middle = scanner.results("c", "q")[1]
    assert [(h.start - H0).total_seconds() for h in middle.coverage.holes] == [7190.0]
    assert scanner.listed("c", "q") == 4


def bump_mtime(directory: Path) -> None:
    stat = directory.stat()
    os.utime(directory, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def test_a_segment_running_into_the_next_hour_recomputes_that_hour(tmp_path: Path) -> None:
    store = three_hours(tmp_path)
    scanner = CoverageScanner(store, fs_now_ns=later_ns)
    scanner.scan()
    assert [
        (h.start - H0).total_seconds() for h in scanner.results("c", "q")[2].coverage.holes
    ] == [7200.0]
    touch_segments(str(tmp_path), [seg(7188, 16.0)])  # [7188, 7204): fills both gaps
    bump_mtime(tmp_path / "c" / "q" / hour_at(1))
    [after] = scanner.scan()
    assert after.listed == (hour_at(1), hour_at(2))
    assert after.computed == (hour_at(1), hour_at(2))
    assert [h.coverage.holes for h in scanner.results("c", "q")] == [(), (), ()]


def test_a_directory_changed_just_now_is_listed_again_next_pass(tmp_path: Path) -> None:
    store = three_hours(tmp_path)
    changed = time.time_ns()
    for hour in (HOUR0, hour_at(1), hour_at(2)):
        os.utime(tmp_path / "c" / "q" / hour, ns=(changed, changed))
    now = [changed + 500_000_000]  # half a second after the last change
    scanner = CoverageScanner(store, fs_now_ns=lambda: now[0])
    scanner.scan()
    [again] = scanner.scan()
    assert again.listed == (HOUR0, hour_at(1), hour_at(2))
    assert again.computed == (HOUR0, hour_at(1), hour_at(2))
    now[0] += 2_000_000_000
    scanner.scan()
    [settled] = scanner.scan()
    assert settled.listed == ()


def test_a_malformed_name_is_counted_and_breaks_nothing(tmp_path: Path) -> None:
    store = three_hours(tmp_path)
    (tmp_path / "c" / "q" / HOUR0 / "not-a-segment.ts").write_bytes(b"")
    (tmp_path / "c" / "q" / "not-an-hour").mkdir()
    scanner = CoverageScanner(store, fs_now_ns=later_ns)
    scanner.scan()
    hours = scanner.results("c", "q")
    assert [h.hour for h in hours] == [HOUR0, hour_at(1), hour_at(2)]
    assert [h.bad for h in hours] == [1, 0, 0]
    assert hours[0].coverage.raw_seconds == 3600.0


def test_removed_hour_is_forgotten_and_its_neighbours_recomputed(tmp_path: Path) -> None:
    store = three_hours(tmp_path)
    scanner = CoverageScanner(store, fs_now_ns=later_ns)
    scanner.scan()
    middle = tmp_path / "c" / "q" / hour_at(1)
    for name in os.listdir(middle):
        os.unlink(middle / name)
    middle.rmdir()
    [after] = scanner.scan()
    assert after.removed == (hour_at(1),)
    assert after.computed == (HOUR0, hour_at(2))
    assert [h.hour for h in scanner.results("c", "q")] == [HOUR0, hour_at(2)]


def test_metrics_keep_only_recent_hours_and_totals_without_an_hour(tmp_path: Path) -> None:
    store = three_hours(tmp_path)
    (tmp_path / "c" / "q" / HOUR0 / "junk.ts").write_bytes(b"")
    scanner = CoverageScanner(store, fs_now_ns=later_ns)
    scanner.scan()
    registry = CollectorRegistry()
    registry.register(CoverageCollector(scanner, recent_hours=2))
    families = {
        f.name: f for f in text_string_to_metric_families(generate_latest(registry).decode())
    }
    hourly = families["streamvault_coverage_hour_holes"].samples
    assert {s.labels["hour"] for s in hourly} == {hour_at(1), hour_at(2)}
    assert sum(s.value for s in hourly) == 2
    [total_holes] = families["streamvault_coverage_holes"].samples
    assert total_holes.labels == {"channel": "c", "quality": "q"}
    assert total_holes.value == 1  # the gap across the hour boundary is one hole
    full = [
        s for s in families["streamvault_coverage_segments"].samples if s.labels["type"] == "full"
    ]
    assert [s.value for s in full] == [1798]
    [bad] = families["streamvault_coverage_bad_names"].samples
    assert bad.value == 1
    ratios = {
        s.labels["hour"]: s.value
        for s in families["streamvault_coverage_hour_editable_ratio"].samples
    }
    assert ratios == {hour_at(1): 3588 / 3600, hour_at(2): 3596 / 3600}
    series = [s for f in families.values() for s in f.samples]
    assert len(series) == 2 * 16 + 16  # the bound docs/metrics-coverage.md states
    [listed] = families["streamvault_coverage_hours_listed"].samples
    assert (listed.name, listed.value) == ("streamvault_coverage_hours_listed_total", 3)


def test_service_writes_maps_atomically_under_coverage_maps(tmp_path: Path) -> None:
    store = three_hours(tmp_path)
    service = CoverageService(
        store,
        CoverageScanner(store, fs_now_ns=later_ns),
        [Node("here", "http://127.0.0.1:1"), Node("there", "http://127.0.0.2:1")],
        FakeClock(H0),
    )
    report = service.run_pass()
    maps = tmp_path / "coverage-maps"
    assert sorted(os.listdir(maps)) == ["c_q_coverage.html", "c_q_coverage.png"]
    assert len(report.maps_written) == 2
    image = Image.open(io.BytesIO((maps / "c_q_coverage.png").read_bytes())).convert("RGB")
    assert image.size == (18, 300)
    assert image.getpixel((11, 299)) == NO_DATA_RGB  # the hole at the end of the middle hour
    page = (maps / "c_q_coverage.html").read_text()
    assert "<h2>here</h2>" in page and "<h2>there</h2>" in page
    assert service.run_pass().maps_written == ()  # nothing changed: nothing rewritten
    assert store.channels() == ["c"]  # the maps directory is not a channel


async def test_service_runs_a_pass_every_interval_until_stopped(tmp_path: Path) -> None:
    store = three_hours(tmp_path)
    clock = FakeClock(H0)
    service = CoverageService(
        store, CoverageScanner(store, fs_now_ns=later_ns), clock=clock, interval=30
    )
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop=stop))
    await wait_for(lambda: service.passes == 1 and clock.sleepers == 1)
    await clock.advance(29)
    assert service.passes == 1
    await clock.advance(1)
    await wait_for(lambda: service.passes == 2)
    stop.set()
    await asyncio.wait_for(task, 5)


async def wait_for(condition: object) -> None:
    assert callable(condition)
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition never became true")


def test_real_segments_and_tombstones(tmp_path: Path) -> None:
    store = SegmentStore(str(tmp_path))
    kept = [
        store.write_segment("c", "q", seg(i * 2.0).start, 2.0, "full", b"x" * i) for i in range(5)
    ]
    store.write_tombstone(kept[2])  # hidden: a hole where it was
    scanner = CoverageScanner(store, fs_now_ns=later_ns)
    scanner.scan()
    [hour] = scanner.results("c", "q")
    assert hour.tombstones == 1
    assert hour.coverage.types["full"].count == 4
    assert [(h.start, h.end) for h in hour.coverage.holes] == [(seg(4).start, seg(6).start)]
