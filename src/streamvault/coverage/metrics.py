"""Prometheus metrics of coverage, read from the scanner's own state by a custom collector.

Two families per figure, so no query double-counts:

- ``streamvault_coverage_hour_*{channel,quality,hour[,type]}``: one series per hour, but only for
  the ``recent_hours`` newest hour directories of each channel and quality (default 48). Older
  hours drop out of the page, so the number of series stays bounded however long the archive.
- ``streamvault_coverage_*{channel,quality[,type]}``: totals over every hour scanned, no ``hour``
  label (a gap across an hour boundary is counted as one hole).

Series: at most channels x qualities x (recent_hours x 16 + 16) (docs/metrics-coverage.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from .compute import HourCoverage, Totals, TypeFigures, totals
from .scan import CoverageScanner

PREFIX = "streamvault_coverage_"
DEFAULT_RECENT_HOURS = 48


@dataclass(frozen=True, slots=True)
class _Figure:
    name: str
    help: str
    hour: Callable[[HourCoverage], float]
    total: Callable[[Totals], float]


_FIGURES = (
    _Figure(
        "holes", "holes (gaps over 10 ms)", lambda h: len(h.coverage.holes), lambda t: t.hole_count
    ),
    _Figure(
        "hole_seconds",
        "time in holes, seconds",
        lambda h: h.coverage.hole_seconds,
        lambda t: t.hole_seconds,
    ),
    _Figure(
        "overlaps",
        "segments overlapping earlier ones by over 10 ms",
        lambda h: h.coverage.overlap_count,
        lambda t: t.overlap_count,
    ),
    _Figure(
        "overlap_seconds",
        "overlapping time, seconds",
        lambda h: h.coverage.overlap_seconds,
        lambda t: t.overlap_seconds,
    ),
    _Figure(
        "duplicates",
        "extra files sharing a start time",
        lambda h: h.coverage.duplicates,
        lambda t: t.duplicates,
    ),
    _Figure(
        "raw_seconds",
        "time covered by any segment, seconds",
        lambda h: h.coverage.raw_seconds,
        lambda t: t.raw_seconds,
    ),
    _Figure(
        "editable_seconds",
        "time covered by chained full segments, seconds",
        lambda h: h.coverage.editable_seconds,
        lambda t: t.editable_seconds,
    ),
    _Figure("bad_names", "file names that do not parse", lambda h: h.bad, lambda t: t.bad),
)


class CoverageCollector(Collector):
    """Exposes a :class:`CoverageScanner`'s figures; register it on a registry once."""

    def __init__(self, scanner: CoverageScanner, recent_hours: int = DEFAULT_RECENT_HOURS) -> None:
        self.scanner = scanner
        self.recent_hours = recent_hours

    def describe(self) -> Iterable[Metric]:
        return []  # families are built per scrape; nothing to check at registration

    def collect(self) -> Iterator[Metric]:
        per_hour = _families("hour_", ["channel", "quality", "hour"], "per hour, recent hours only")
        total = _families("", ["channel", "quality"], "over every hour scanned")
        ratios = {
            key: GaugeMetricFamily(
                f"{PREFIX}hour_{key}_ratio",
                f"{key} coverage of the hour, 0 to 1 (recent hours only)",
                labels=["channel", "quality", "hour"],
            )
            for key in ("raw", "editable")
        }
        hours_gauge = GaugeMetricFamily(
            f"{PREFIX}hours", "hour directories measured", labels=["channel", "quality"]
        )
        listed = CounterMetricFamily(
            f"{PREFIX}hours_listed",
            "hour directories listed by the scanner",
            labels=["channel", "quality"],
        )
        for channel, quality in self.scanner.known_variants():
            results = self.scanner.results(channel, quality)
            for hour in results[-self.recent_hours :] if self.recent_hours > 0 else []:
                labels = [channel, quality, hour.hour]
                _add(per_hour, labels, hour.coverage.types, [f.hour(hour) for f in _FIGURES])
                ratios["raw"].add_metric(labels, hour.coverage.raw_ratio)
                ratios["editable"].add_metric(labels, hour.coverage.editable_ratio)
            summed = totals(results)
            _add(total, [channel, quality], summed.types, [f.total(summed) for f in _FIGURES])
            hours_gauge.add_metric([channel, quality], summed.hours)
            listed.add_metric([channel, quality], self.scanner.listed(channel, quality))
        yield from per_hour
        yield from total
        yield from ratios.values()
        yield hours_gauge
        yield listed


def _families(infix: str, labels: list[str], scope: str) -> list[GaugeMetricFamily]:
    typed = [*labels, "type"]
    return [
        GaugeMetricFamily(
            f"{PREFIX}{infix}segments", f"segment files by type, {scope}", labels=typed
        ),
        GaugeMetricFamily(
            f"{PREFIX}{infix}segment_seconds", f"segment durations by type, {scope}", labels=typed
        ),
        *(
            GaugeMetricFamily(f"{PREFIX}{infix}{f.name}", f"{f.help}, {scope}", labels=labels)
            for f in _FIGURES
        ),
    ]


def _add(
    families: list[GaugeMetricFamily],
    labels: list[str],
    types: dict[str, TypeFigures],
    values: list[float],
) -> None:
    counts, seconds, *rest = families
    for name, figures in types.items():
        counts.add_metric([*labels, name], figures.count)
        seconds.add_metric([*labels, name], figures.seconds)
    for family, value in zip(rest, values, strict=True):
        family.add_metric(labels, value)
