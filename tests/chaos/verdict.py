"""What a chaos campaign left on the nodes' disks, judged against what the simulator sent.

Everything here reads the stores (a user's view: what each node lists and serves) and the
truth (the hash of each published segment); nothing trusts what the nodes report about
themselves.
"""

from __future__ import annotations

import hashlib
import os
import statistics
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from streamvault.errors import MalformedName
from streamvault.store.disk import SegmentStore
from streamvault.store.naming import Segment, encode_hash, is_temp_name, parse_name


@dataclass
class NodeFiles:
    """One node's store: what it shows, and every segment file it has on disk."""

    visible: dict[str, list[str]]  # "QUALITY/HOUR" -> names with tombstones, as peers list them
    on_disk: list[tuple[Segment, str]]  # every segment file (hidden ones too) and its path
    temp: list[str]  # temp files under any hour directory
    torn: list[str]  # files under a final name whose bytes do not hash to that name


def read_node(base_dir: str, channel: str) -> NodeFiles:
    store = SegmentStore(base_dir)
    files = NodeFiles({}, [], [], [])
    for quality in store.qualities(channel):
        for hour in store.hours(channel, quality):
            names = store.segment_names(channel, quality, hour, tombstones=True)
            files.visible[f"{quality}/{hour}"] = names
            directory = store.hour_dir(channel, quality, hour)
            for name in sorted(os.listdir(directory)):
                path = os.path.join(directory, name)
                if is_temp_name(name):
                    files.temp.append(path)
                    continue
                try:
                    segment = parse_name(channel, quality, hour, name)
                except MalformedName:
                    continue  # tombstones and others
                files.on_disk.append((segment, path))
                with open(path, "rb") as f:
                    if encode_hash(hashlib.sha256(f.read()).digest()) != segment.hash:
                        files.torn.append(path)
    return files


def visible_names(files: NodeFiles) -> set[str]:
    return {name for names in files.visible.values() for name in names}


@dataclass
class Verdict:
    identical: bool
    published: int
    received_whole: int  # published segments at least one node got whole
    never_whole: int  # published segments no node got whole (missed by every recorder)
    lost: list[str]  # received whole by some node, but not listed whole on every node
    temp_files: list[str]
    torn_files: list[str]
    truncated: list[str]  # short "full" copies found on any disk
    truncated_still_visible: list[str]
    lag_p50: float | None
    lag_p99: float | None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return (
            self.identical
            and not self.lost
            and not self.torn_files
            and not self.truncated_still_visible
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "identical": self.identical,
            "published": self.published,
            "received_whole": self.received_whole,
            "never_whole": self.never_whole,
            "segments_lost": len(self.lost),
            "lost": self.lost[:20],
            "temp_files": self.temp_files[:20],
            "torn_files": self.torn_files[:20],
            "truncated_found": len(self.truncated),
            "truncated_still_visible": self.truncated_still_visible[:20],
            "lag_p50": self.lag_p50,
            "lag_p99": self.lag_p99,
            **self.details,
        }


def percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(fraction * 100) - 1]


def judge(
    nodes: Mapping[str, NodeFiles],
    truth: Mapping[datetime, str],
    truth_bytes: Callable[[datetime], bytes],
    sim_time: Callable[[float], float],
    unreachable: set[datetime] | None = None,
) -> Verdict:
    """``truth``: start -> hash of every published segment; ``sim_time(mtime)`` maps a file's
    modification time to the simulator's time line (for replication lag); ``unreachable``:
    starts of segments that left the live playlist before any node was up (not counted as
    missed by every node)."""
    views = {name: visible_names(files) for name, files in nodes.items()}
    identical = len({frozenset(v) for v in views.values()}) == 1 and all(
        files.visible == next(iter(nodes.values())).visible for files in nodes.values()
    )
    whole: dict[datetime, Segment] = {}
    truncated: list[Segment] = []
    arrival: dict[datetime, dict[str, float]] = {}
    for node, files in nodes.items():
        for segment, path in files.on_disk:
            expected = truth.get(segment.start)
            if expected is None or not segment.is_full:
                continue
            if segment.hash == expected:
                whole[segment.start] = segment
                if segment.name in views[node]:
                    arrival.setdefault(segment.start, {})[node] = sim_time(os.stat(path).st_mtime)
            else:
                with open(path, "rb") as f:
                    data = f.read()
                if truth_bytes(segment.start).startswith(data):
                    truncated.append(segment)
    lost = [
        f"{node}: {segment.name}"
        for segment in whole.values()
        for node, view in views.items()
        if segment.name not in view
    ]
    # a short copy of a segment nobody received whole is the best there is: kept, not "still"
    still = [
        f"{node}: {segment.name}"
        for segment in truncated
        for node, view in views.items()
        if segment.name in view and segment.start in whole
    ]
    never = sorted(set(truth) - set(whole) - (unreachable or set()))
    seen: dict[str, list[str]] = {}
    for start in never[:10]:
        seen[start.isoformat()] = [
            f"{node}: {segment.type} {segment.hash[:8]} {os.stat(path).st_size} B"
            for node, files in nodes.items()
            for segment, path in files.on_disk
            if segment.start == start
        ]
    lags = [
        max(times.values()) - whole[start].end.timestamp()
        for start, times in arrival.items()
        if len(times) == len(nodes)
    ]
    return Verdict(
        identical=identical,
        published=len(truth),
        received_whole=len(whole),
        never_whole=len(never),
        lost=sorted(lost),
        temp_files=[p for files in nodes.values() for p in files.temp],
        torn_files=[p for files in nodes.values() for p in files.torn],
        truncated=sorted({s.name for s in truncated}),
        truncated_still_visible=sorted(still),
        lag_p50=percentile(lags, 0.5),
        lag_p99=percentile(lags, 0.99),
        details={"never_whole_files": seen, "before_any_node": len(unreachable or ())},
    )
