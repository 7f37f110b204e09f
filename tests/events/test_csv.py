"""``streamvault events import|export`` through the command line (SPEC §12)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os

import pytest

from streamvault.cli import main
from streamvault.events.store import EventFilter, EventStore

SHEET = """\
Event Start,Event End,Video Title,Channel,Video Tags,Notes to Editor,Favourite colour
2026-11-28 05:04+01:00,2026-11-28 05:05:30+01:00,The host shaves,desertbus,"hair, charity",Mind,blue
2026-11-28T04:10:00Z,2026-11-28T04:09:00Z,Backwards,desertbus,,,
not a time,2026-11-28T04:09:00Z,Garbled,desertbus,,,
2026-11-28 04:04:00Z,2026-11-28 04:05:30Z,The host shaves,desertbus,"hair, charity",again,red
2026-11-28T04:20:00Z,2026-11-28T04:21:00Z,No channel,,,,
2026-11-28 08:00,2026-11-28 08:01,Naive time,desertbus,,,
,,,,,,
2026-11-28T04:30:00Z,2026-11-28T04:31:00Z,Too many cells,desertbus,,,,extra
"""


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    return code, capsys.readouterr().out


def events_in(url: str) -> list[dict[str, object]]:
    async def read() -> list[dict[str, object]]:
        store = await EventStore.connect(url)
        try:
            return (await store.list(EventFilter(limit=500)))[0]
        finally:
            await store.close()

    return asyncio.run(read())


def test_import_reports_each_row_taken_or_refused(
    tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    base = str(tmp_path)
    sheet = os.path.join(base, "sheet.csv")
    with open(sheet, "w", encoding="utf-8") as file:
        file.write(SHEET)
    args = ["events", "import", sheet, "--base-dir", base, "--timezone", "America/New_York"]
    code, out = run(capsys, *args)
    assert code == 1  # some rows were refused
    lines = out.splitlines()
    assert "row 2: taken as event 1" in lines
    assert any(line.startswith("row 3: refused: ranges[0]: end") for line in lines)
    assert any(line.startswith("row 4: refused: not a time") for line in lines)
    assert "row 5: refused: duplicate of row 2" in lines  # same moment, written in UTC
    assert "row 6: refused: channel is required" in lines
    assert "row 7: taken as event 2" in lines
    assert not any(line.startswith("row 8") for line in lines)  # blank rows are skipped
    assert "row 9: refused: 8 cells, the header has 7" in lines
    assert "columns ignored: Favourite colour" in lines
    assert lines[-1].endswith("2 row(s) taken, 5 refused")

    url = "sqlite:///" + os.path.join(base, ".streamvault", "streamvault.sqlite3")
    second, first = events_in(url)
    assert first["ranges"] == [
        {
            "start": "2026-11-28T04:04:00.000000Z",
            "end": "2026-11-28T04:05:30.000000Z",
            "transition": None,
        }
    ]
    assert first["tags"] == ["hair", "charity"] and first["notes"] == "Mind"
    # no offset: read in the zone given, stored in UTC
    assert second["ranges"][0]["start"] == "2026-11-28T13:00:00.000000Z"  # type: ignore[index]

    code, out = run(capsys, *args)
    assert "row 2: refused: duplicate of event 1" in out.splitlines()


def test_export_then_import_elsewhere_round_trips(
    tmp_path: object, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    base = str(tmp_path)
    sheet = os.path.join(base, "sheet.csv")
    with open(sheet, "w", encoding="utf-8") as file:
        file.write(SHEET)
    run(capsys, "events", "import", sheet, "--base-dir", base)
    exported = os.path.join(base, "out.csv")
    code, _ = run(capsys, "events", "export", exported, "--base-dir", base)
    assert code == 0
    with open(exported, encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert [row["title"] for row in rows] == ["Naive time", "The host shaves"]
    assert rows[1]["start"] == "2026-11-28T04:04:00.000000Z"
    assert json.loads(rows[1]["ranges"])[0]["end"] == "2026-11-28T04:05:30.000000Z"

    other = os.path.join(base, "other.sqlite3")
    code, out = run(capsys, "events", "import", exported, "--database-url", f"sqlite:///{other}")
    assert "2 row(s) taken, 0 refused" in out
    assert code == 0
    assert {e["title"] for e in events_in(f"sqlite:///{other}")} == {
        "Naive time",
        "The host shaves",
    }


def test_a_file_without_a_channel_column_is_refused_in_one_line(
    tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    sheet = os.path.join(str(tmp_path), "bad.csv")
    with open(sheet, "w", encoding="utf-8") as file:
        file.write("when,what\n1,2\n")
    code = main(["events", "import", sheet, "--base-dir", str(tmp_path)])
    errors = [line for line in capsys.readouterr().err.splitlines() if "streamvault events" in line]
    assert code == 2 and len(errors) == 1 and "no channel column" in errors[0]


def test_csv_quoting_survives(tmp_path: object) -> None:
    from streamvault.events.csvio import read_sheet, write_sheet

    text = 'channel,title,description\nc,"a, ""quoted"" title","two\nlines"\n'
    sheet = read_sheet(text)
    [row] = sheet.rows
    assert row.fields is not None and row.fields["title"] == 'a, "quoted" title'
    event = {**row.fields, "id": 1, "version": 1, "created": "", "updated": ""}
    again = read_sheet(write_sheet([event]))
    assert again.rows[0].fields == row.fields
    assert list(csv.reader(io.StringIO(write_sheet([event]))))[1][7] == "two\nlines"


def test_a_file_that_is_not_csv_is_refused_before_the_database_is_touched(
    tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    base = str(tmp_path)
    sheet = os.path.join(base, "photo.csv")
    with open(sheet, "wb") as file:
        file.write(b"\xff\xd8\xff\xe0 not text" * 50)
    assert main(["events", "import", sheet, "--base-dir", base]) == 2
    assert "not a UTF-8 CSV file" in capsys.readouterr().err
    assert main(["events", "import", os.path.join(base, "missing.csv"), "--base-dir", base]) == 2
    assert not os.path.exists(os.path.join(base, ".streamvault"))
