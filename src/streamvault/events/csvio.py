"""Events to and from a spreadsheet's CSV export (SPEC §12). Pure: text in, values out.

Columns are found by their header, whatever their order and spelling ("Start time",
``start_time`` and ``START`` are one column; see :data:`ALIASES`); columns it does not know
are reported and left alone. Times may carry any offset (``2026-11-28 05:05:06+01:00``,
``...Z``) and are converted to UTC; a time without one is read in the zone given (UTC by
default). Each row is taken or refused with its reason; a row that repeats an earlier row (same
channel, ranges and title) is refused as a duplicate of it.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from dateutil import parser as dateutil_parser

from ..errors import BadEvent
from ..timeutil import format_iso
from . import model

#: column -> the headers that name it (compared lower-case, runs of non-letters as one space)
ALIASES: dict[str, tuple[str, ...]] = {
    "channel": ("channel", "stream", "channel name"),
    "quality": ("quality",),
    "start": ("start", "start time", "event start", "begin", "from"),
    "end": ("end", "end time", "event end", "finish", "to"),
    "ranges": ("ranges", "video ranges"),
    "title": ("title", "video title", "name"),
    "description": ("description", "video description"),
    "tags": ("tags", "video tags", "keywords"),
    "category": ("category", "event type", "type"),
    "notes": ("notes", "notes to editor", "editor notes"),
    "state": ("state", "status"),
    "cut_type": ("cut type",),
    "allow_holes": ("allow holes",),
    "editor": ("editor",),
}
_HEADER = {alias: column for column, aliases in ALIASES.items() for alias in aliases}
EXPORT_COLUMNS = (
    "id", "channel", "quality", "start", "end", "ranges", "title", "description", "tags",
    "category", "notes", "state", "editor", "cut_type", "allow_holes", "output", "error",
    "version", "created", "updated",
)  # fmt: skip
_TRUE = {"true", "yes", "y", "1", "x"}
_FALSE = {"false", "no", "n", "0", ""}


@dataclass(frozen=True, slots=True)
class RowResult:
    """Row ``number`` (the header is row 1, as a spreadsheet counts): fields, or a refusal."""

    number: int
    fields: dict[str, Any] | None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Sheet:
    rows: list[RowResult]
    ignored_columns: list[str]


def normalise_header(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower()).split())


def parse_time(text: str, zone: tzinfo) -> datetime:
    """A spreadsheet cell's time, naive ones in ``zone``. Not ``timeutil.parse_time``: cells
    are typed by people and exported as the sheet shows them (``11/28/2026 5:04 AM``), so this
    takes whatever dateutil can read; every machine-written time goes through timeutil."""
    try:
        value = dateutil_parser.parse(text)
    except (ValueError, OverflowError):
        raise BadEvent(f"not a time: {text!r}") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


def _bool(text: str, column: str) -> bool:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise BadEvent(f"{column} must be yes or no, not {text!r}")


def _ranges(cells: Mapping[str, str], zone: tzinfo) -> list[dict[str, Any]]:
    if cells.get("ranges", "").strip():
        try:
            ranges = json.loads(cells["ranges"])
        except ValueError:
            raise BadEvent("ranges is not JSON") from None
        if not isinstance(ranges, list):
            raise BadEvent("ranges must be a JSON list")
        return ranges
    start, end = cells.get("start", "").strip(), cells.get("end", "").strip()
    if not start and not end:
        return []
    if not (start and end):
        raise BadEvent("start and end must both be given, or neither")
    begin, finish = parse_time(start, zone), parse_time(end, zone)
    return [{"start": format_iso(begin), "end": format_iso(finish), "transition": None}]


def row_fields(cells: Mapping[str, str], zone: tzinfo) -> dict[str, Any]:
    """The event fields of one row, validated; raises BadEvent with the reason."""
    data: dict[str, Any] = {"ranges": _ranges(cells, zone)}
    for column in ("channel", "quality", "title", "description", "category", "notes", "editor"):
        value = cells.get(column, "").strip()
        if value:
            data[column] = value
    if cells.get("tags", "").strip():
        data["tags"] = [t.strip() for t in re.split(r"[,;]", cells["tags"]) if t.strip()]
    if cells.get("state", "").strip():
        data["state"] = cells["state"].strip().upper()
    if cells.get("cut_type", "").strip():
        data["cut_type"] = cells["cut_type"].strip().lower()
    if "allow_holes" in cells:
        data["allow_holes"] = _bool(cells["allow_holes"], "allow holes")
    return model.new_event(model.validate_fields(data))


def duplicate_key(fields: Mapping[str, Any]) -> str:
    return json.dumps([fields["channel"], fields["ranges"], fields["title"]], sort_keys=True)


def read_sheet(text: str, zone: tzinfo = UTC) -> Sheet:
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        raise BadEvent("the file is empty: no header row")
    columns = [_HEADER.get(normalise_header(name)) for name in header]
    if "channel" not in columns:
        raise BadEvent("no channel column (headers: " + ", ".join(header) + ")")
    ignored = [name for name, column in zip(header, columns, strict=True) if column is None]
    rows: list[RowResult] = []
    seen: dict[str, int] = {}
    for number, values in enumerate(reader, start=2):
        if not any(value.strip() for value in values):
            continue
        if len(values) > len(header):
            rows.append(
                RowResult(number, None, f"{len(values)} cells, the header has {len(header)}")
            )
            continue
        cells = {c: v for c, v in zip(columns, values, strict=False) if c is not None}
        try:
            fields = row_fields(cells, zone)
        except BadEvent as err:
            rows.append(RowResult(number, None, str(err)))
            continue
        key = duplicate_key(fields)
        if key in seen:
            rows.append(RowResult(number, None, f"duplicate of row {seen[key]}"))
            continue
        seen[key] = number
        rows.append(RowResult(number, fields))
    return Sheet(rows, ignored)


def _cell(event: Mapping[str, Any], column: str) -> str:
    ranges = event["ranges"]
    if column == "start":
        return ranges[0]["start"] if ranges else ""
    if column == "end":
        return ranges[-1]["end"] if ranges else ""
    value = event.get(column)
    if column == "ranges":
        return json.dumps(value)
    if column == "tags":
        return ", ".join(value or [])
    if column == "output":
        return value["location"] if value else ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "" if value is None else str(value)


def write_sheet(
    events: Iterable[Mapping[str, Any]], columns: Sequence[str] = EXPORT_COLUMNS
) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for event in events:
        writer.writerow([_cell(event, column) for column in columns])
    return out.getvalue()
