"""The record of hash disagreements (SPEC §15) a node has seen, per hour, on disk.

The backfiller writes, atomically, one JSON file per hour in which it found disagreements:
``BASE/.streamvault/disagreements/CHANNEL/QUALITY/HOUR.json`` (under the one directory of the
store that is not replicated and never listed). The restreamer's coverage JSON lists the
records of a range from there, and a restarted node knows what it has already counted.

Each record is a JSON object: ``start`` (ISO, UTC), ``duration``, ``outcome`` (``majority``,
``prefix``, ``undecidable`` or ``pending``), ``winner`` (a segment name or null), ``reason``,
and ``versions``: ``[{"name", "hash", "holders": [node, ...]}]``.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ..timeutil import hours_within, parse_time
from .disk import atomic_write
from .naming import check_path_part

log = logging.getLogger(__name__)

Record = dict[str, Any]
DIRECTORY = os.path.join(".streamvault", "disagreements")


def record_path(base_dir: str, channel: str, quality: str, hour: str) -> str:
    for part, what in ((channel, "channel"), (quality, "quality"), (hour, "hour")):
        check_path_part(part, what)
    return os.path.join(base_dir, DIRECTORY, channel, quality, f"{hour}.json")


def read_hour(base_dir: str, channel: str, quality: str, hour: str) -> list[Record]:
    """The records of one hour; ``[]`` when there are none (or the file is unreadable)."""
    path = record_path(base_dir, channel, quality, hour)
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as err:
        log.warning("ignoring unreadable disagreement record %s: %s", path, err)
        return []
    records = data.get("disagreements") if isinstance(data, dict) else None
    if not isinstance(records, list):
        return []
    return [r for r in records if isinstance(r, dict)]


def write_hour(
    base_dir: str, channel: str, quality: str, hour: str, records: Sequence[Record]
) -> None:
    path = record_path(base_dir, channel, quality, hour)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    body = {"channel": channel, "quality": quality, "hour": hour, "disagreements": list(records)}
    atomic_write(path, json.dumps(body, indent=1, sort_keys=True).encode())


def _recorded_hours(base_dir: str, channel: str, quality: str) -> list[str]:
    """The hours that have a record file (the range a client asks for may span millennia)."""
    for part, what in ((channel, "channel"), (quality, "quality")):
        check_path_part(part, what)
    try:
        names = os.listdir(os.path.join(base_dir, DIRECTORY, channel, quality))
    except OSError:  # none yet, or unreadable: no records to list
        return []
    return [name[: -len(".json")] for name in names if name.endswith(".json")]


def read_range(
    base_dir: str, channel: str, quality: str, start: datetime, end: datetime
) -> list[Record]:
    """Records of segments that start in ``[start, end)``, in time order."""
    found: list[tuple[datetime, Record]] = []
    for hour in hours_within(_recorded_hours(base_dir, channel, quality), start, end):
        for record in read_hour(base_dir, channel, quality, hour):
            try:
                when = parse_time(str(record.get("start")))
            except ValueError:
                continue
            if start <= when < end:
                found.append((when, record))
    found.sort(key=lambda item: item[0])
    return [record for _, record in found]
