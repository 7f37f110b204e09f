"""``streamvault events import|export FILE.csv``: a team's event sheet in and out (SPEC §12)."""

from __future__ import annotations

import argparse
import asyncio
import csv
import sys
from typing import Any, TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..cliargs import add_base_dir, add_database_url
from ..errors import BadInput, ConfigError
from ..store.disk import atomic_write
from . import model
from .csvio import Sheet, read_sheet, write_sheet
from .db import database_url
from .store import MAX_LIMIT, EventFilter, EventStore

HELP = "import events from a spreadsheet's CSV export, or export them to CSV"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    importer = actions.add_parser(
        "import",
        help="add the rows of FILE.csv as events; prints which rows were taken or refused",
        description="Columns are matched by header name; times in any zone become UTC.",
    )
    importer.add_argument("file", metavar="FILE.csv")
    importer.add_argument(
        "--timezone", default="UTC", help="zone of times written without an offset"
    )
    importer.add_argument("--editor", default="import", help="who the history names")
    exporter = actions.add_parser("export", help="write every event (newest first) to FILE.csv")
    exporter.add_argument("file", metavar="FILE.csv", help="'-' for standard output")
    exporter.add_argument("--channel", default=None, help="only this channel")
    exporter.add_argument("--state", default=None, help="only these states, comma-separated")
    for sub in (importer, exporter):
        add_base_dir(sub)
        add_database_url(sub)


def run(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_main(args))
    except (BadInput, OSError) as err:
        print(f"streamvault events: {err}", file=sys.stderr)
        return 2


async def _main(args: argparse.Namespace) -> int:
    # a sheet that cannot be read is refused before the database is touched
    sheet = read_file(args.file, args.timezone) if args.action == "import" else None
    store = await EventStore.connect(database_url(args.database_url, args.base_dir))
    try:
        if sheet is not None:
            return await import_sheet(store, args.file, sheet, args.editor, sys.stdout)
        return await export_file(store, args.file, args.channel, args.state)
    finally:
        await store.close()


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"unknown time zone {name!r} (use a name like Europe/Berlin)") from None


def read_file(path: str, zone: str) -> Sheet:
    try:
        with open(path, encoding="utf-8-sig", newline="") as file:
            return read_sheet(file.read(), _zone(zone))
    except (UnicodeDecodeError, csv.Error) as err:
        raise BadInput(f"{path}: not a UTF-8 CSV file ({err})") from None


async def import_sheet(store: EventStore, path: str, sheet: Sheet, who: str, out: TextIO) -> int:
    """Store the rows; 0 when every row was taken, 1 when some were refused."""
    taken, refused = await _store_rows(store, sheet, who, out)
    if sheet.ignored_columns:
        print(f"columns ignored: {', '.join(sheet.ignored_columns)}", file=out)
    print(f"{path}: {taken} row(s) taken, {refused} refused", file=out)
    return 1 if refused else 0


async def _store_rows(store: EventStore, sheet: Sheet, who: str, out: TextIO) -> tuple[int, int]:
    taken = refused = 0
    for row in sheet.rows:
        reason = row.reason
        if row.fields is not None:
            fields: dict[str, Any] = row.fields
            existing = await store.find_duplicate(
                fields["channel"], fields["ranges"], fields["title"]
            )
            if existing is not None:
                reason = f"duplicate of event {existing}"
            else:
                event = await store.create(fields, who)
                print(f"row {row.number}: taken as event {event['id']}", file=out)
                taken += 1
                continue
        print(f"row {row.number}: refused: {reason}", file=out)
        refused += 1
    return taken, refused


async def export_file(store: EventStore, path: str, channel: str | None, state: str | None) -> int:
    states = tuple(s.strip().upper() for s in (state or "").split(",") if s.strip())
    for name in states:
        if name not in model.STATES:
            raise BadInput(f"--state must be among {', '.join(model.STATES)}, not {name!r}")
    events: list[dict[str, Any]] = []
    cursor = None
    while True:
        page, cursor = await store.list(
            EventFilter(channel, states, limit=MAX_LIMIT, cursor=cursor)
        )
        events.extend(page)
        if cursor is None:
            break
    text = write_sheet(events)
    if path == "-":
        sys.stdout.write(text)
    else:
        await asyncio.to_thread(atomic_write, path, text.encode("utf-8"))
    print(f"{len(events)} event(s) exported to {path}", file=sys.stderr)
    return 0
