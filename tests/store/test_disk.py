from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from streamvault.errors import DiskFull
from streamvault.store import disk
from streamvault.store.chat_naming import ChatBatch
from streamvault.store.disk import STALE_TEMP_SECONDS, SegmentStore, atomic_write
from streamvault.store.naming import hash_bytes, is_temp_name, tombstone_name
from tests.helpers import mounted_tmpfs

START = datetime(2026, 11, 28, 4, 0, 0, tzinfo=UTC)


def files_under(base: Path) -> list[str]:
    return sorted(str(p.relative_to(base)) for p in base.rglob("*") if p.is_file())


def test_write_segment_names_file_by_its_hash(tmp_path: Path) -> None:
    store = SegmentStore(str(tmp_path))
    data = os.urandom(5000)
    segment = store.write_segment("chan", "source", START, 2.0, "full", data)
    path = tmp_path / "chan" / "source" / "2026-11-28T04" / segment.name
    assert path.read_bytes() == data
    assert segment.hash == hash_bytes(data)
    assert files_under(tmp_path) == [segment.path]


def test_short_writes_still_write_every_byte(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = os.write
    calls = 0

    def stingy_write(fd: int, data: bytes | memoryview) -> int:
        nonlocal calls
        calls += 1
        return real_write(fd, bytes(data[:7]))

    monkeypatch.setattr(disk.os, "write", stingy_write)
    data = bytes(range(256)) * 40
    segment = SegmentStore(str(tmp_path)).write_segment("c", "q", START, 2.0, "full", data)
    assert (tmp_path / segment.path).read_bytes() == data
    assert calls >= len(data) // 7


def test_short_writev_still_writes_every_chunk_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_writev = os.writev

    def stingy_writev(fd: int, buffers: list[memoryview]) -> int:
        # Stops part-way through a buffer, and sometimes exactly at a buffer's end.
        return real_writev(fd, [bytes(b"".join(bytes(b) for b in buffers)[:700])])

    monkeypatch.setattr(disk.os, "writev", stingy_writev)
    chunks = [os.urandom(n) for n in (1000, 0, 300, 4096, 700, 1)]
    store = SegmentStore(str(tmp_path))
    temp = store.open_segment("c", "q", START, 2.0)
    temp.write_chunks(chunks)
    segment = store.commit_segment(temp, "c", "q", START, 2.0, "full")
    data = b"".join(chunks)
    assert (tmp_path / segment.path).read_bytes() == data
    assert segment.hash == hash_bytes(data)


WRITER = textwrap.dedent(
    """
    import sys
    from datetime import datetime, UTC
    from streamvault.store.disk import SegmentStore
    store = SegmentStore(sys.argv[1])
    temp = store.open_segment("c", "q", datetime(2026, 11, 28, 4, tzinfo=UTC), 2.0)
    temp.write(b"x" * 1000)
    print("writing", flush=True)
    sys.stdin.readline()   # killed here, half-way through the segment
    temp.write(b"y" * 1000)
    store.commit_segment(temp, "c", "q", datetime(2026, 11, 28, 4, tzinfo=UTC), 2.0, "full")
    """
)


def test_sigkill_mid_write_leaves_no_final_name(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"writing\n"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    left = files_under(tmp_path)
    assert len(left) == 1 and is_temp_name(os.path.basename(left[0]))
    store = SegmentStore(str(tmp_path))
    assert store.segment_names("c", "q", "2026-11-28T04") == []  # readers ignore temp files
    assert store.remove_stale_temp_files() == 0  # young: it could be a live writer's
    old = time.time() - STALE_TEMP_SECONDS - 1
    os.utime(tmp_path / left[0], (old, old))
    assert store.remove_stale_temp_files() == 1
    assert files_under(tmp_path) == []


@pytest.fixture
def tiny_disk() -> Iterator[Path]:
    with mounted_tmpfs(
        "64k", "cannot mount a tmpfs here; test_enospc_injected covers the same path"
    ) as mount_point:
        yield mount_point


def test_full_disk_is_a_clear_error_and_leaves_no_final_name(tiny_disk: Path) -> None:
    store = SegmentStore(str(tiny_disk))
    kept = store.write_segment("c", "q", START, 2.0, "full", b"k" * 1000)
    with pytest.raises(DiskFull, match="disk full"):
        store.write_segment("c", "q", START + timedelta(seconds=2), 2.0, "full", b"z" * 200_000)
    assert files_under(tiny_disk) == [kept.path]  # nothing half-written, nothing lost
    assert (tiny_disk / kept.path).read_bytes() == b"k" * 1000


def test_enospc_injected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_write = os.write
    written = 0

    def filling_write(fd: int, data: bytes | memoryview) -> int:
        nonlocal written
        if written > 3000:
            raise OSError(errno.ENOSPC, "No space left on device")
        written += len(data[:1000])
        return real_write(fd, bytes(data[:1000]))

    monkeypatch.setattr(disk.os, "write", filling_write)
    with pytest.raises(DiskFull):
        SegmentStore(str(tmp_path)).write_segment("c", "q", START, 2.0, "full", b"z" * 10_000)
    assert files_under(tmp_path) == []


def test_atomic_write_replaces_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "maps" / "a.png"
    atomic_write(str(target), b"one")
    atomic_write(str(target), b"two")
    assert target.read_bytes() == b"two"
    assert files_under(tmp_path) == ["maps/a.png"]


def test_directory_creation_is_safe_under_races(tmp_path: Path) -> None:
    store = SegmentStore(str(tmp_path))
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def writer(i: int) -> None:
        barrier.wait()
        try:
            store.write_segment("c", "q", START + timedelta(seconds=2 * i), 2.0, "full", b"%d" % i)
        except BaseException as err:  # pragma: no cover - the failure being tested for
            errors.append(err)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(store.segment_names("c", "q", "2026-11-28T04")) == 8


def test_listings_skip_hidden_temp_and_tombstoned(tmp_path: Path) -> None:
    store = SegmentStore(str(tmp_path))
    a = store.write_segment("chan", "source", START, 2.0, "full", b"a")
    b = store.write_segment("chan", "source", START + timedelta(seconds=2), 2.0, "partial", b"b")
    hidden = store.write_segment("chan", "source", START + timedelta(seconds=4), 2.0, "full", b"c")
    store.write_tombstone(hidden)
    hour_dir = tmp_path / "chan" / "source" / "2026-11-28T04"
    (hour_dir / ".secret.ts").write_bytes(b"")
    (hour_dir / "not-a-segment.ts").write_bytes(b"")
    temp = store.open_segment("chan", "source", START + timedelta(seconds=6), 2.0)
    (tmp_path / ".dot").mkdir()
    (tmp_path / "chan" / "source" / "not-an-hour").mkdir()
    (tmp_path / "coverage-maps").mkdir()
    try:
        assert store.channels() == ["chan"]
        assert store.qualities("chan") == ["source"]
        assert store.qualities("nope") == []
        assert store.hours("chan", "source") == ["2026-11-28T04"]
        listing = store.segments("chan", "source", "2026-11-28T04")
        assert sorted(listing.segments, key=lambda s: s.start) == [a, b]
        assert listing.bad == ["not-a-segment.ts"]
        assert listing.tombstones == [tombstone_name(hidden.name)]
        names = store.segment_names("chan", "source", "2026-11-28T04")
        assert hidden.name not in names and a.name in names
        assert not any(is_temp_name(n) or n.startswith(".") for n in names)
        with_tombstones = store.segment_names("chan", "source", "2026-11-28T04", tombstones=True)
        assert tombstone_name(hidden.name) in with_tombstones
    finally:
        temp.discard()


def test_stale_temp_files_are_removed_but_nothing_else(tmp_path: Path) -> None:
    """Only temp files untouched for longer than any download may take: a downloader starting
    beside a live backfiller in a shared store must not delete the backfiller's files."""
    store = SegmentStore(str(tmp_path))
    kept = store.write_segment("c", "q", START, 2.0, "full", b"keep")
    old = time.time() - STALE_TEMP_SECONDS - 1
    for i in range(3):
        temp = store.open_segment("c", "q", START + timedelta(hours=i), 2.0)
        temp.write(b"half")
        os.close(temp._fd)  # the writer "crashed": its temp file stays behind
        temp._done = True
        os.utime(temp.path, (old, old))
    batch = ChatBatch("c", START.replace(second=0, microsecond=0), hash_bytes(b"{}"))
    copy = store.open_copy(batch)  # a chat batch copy, under a hidden temp name
    copy.write(b"{}")
    os.close(copy._fd)
    copy._done = True
    os.utime(copy.path, (old, old))
    live = store.open_segment("c", "q", START + timedelta(hours=5), 2.0)
    live.write(b"being written")
    try:
        assert store.remove_stale_temp_files() == 4
        assert sorted(files_under(tmp_path)) == sorted(
            [kept.path, os.path.relpath(live.path, tmp_path)]
        )
    finally:
        live.discard()


def test_legacy_tombstones_are_renamed_at_start_up(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = SegmentStore(str(tmp_path))
    segments = [store.write_segment("c", "q", START + timedelta(seconds=2 * i), 2.0, "full",
                                    bytes([i])) for i in range(4)]  # fmt: skip
    directory = tmp_path / "c" / "q" / segments[0].hour
    for segment in segments[:3]:  # what earlier versions wrote
        (directory / (segment.name + ".tombstone")).write_bytes(b"")
    store.write_tombstone(segments[2])  # one has both forms
    before = store.segment_names("c", "q", segments[0].hour, tombstones=True)
    with caplog.at_level("INFO", logger="streamvault.store.disk"):
        assert store.upgrade_tombstones() == 3
        assert store.upgrade_tombstones() == 0
    lines = [r for r in caplog.records if "tombstone" in r.getMessage()]
    assert len(lines) == 1 and " 3 " in lines[0].getMessage()
    assert sorted(p.name for p in directory.iterdir() if p.suffix == ".tombstone") == sorted(
        tombstone_name(s.name) for s in segments[:3]
    )
    assert not any(p.name.endswith(".ts.tombstone") for p in directory.iterdir())
    # what a user sees did not change: the same three hidden, in the canonical form
    after = store.segment_names("c", "q", segments[0].hour, tombstones=True)
    assert (
        before
        == after
        == sorted([segments[3].name, *(tombstone_name(s.name) for s in segments[:3])])
    )


def test_a_failed_write_leaves_nothing_to_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full_write(fd: int, data: bytes | memoryview) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    temp = SegmentStore(str(tmp_path)).open_segment("c", "q", START, 2.0)
    monkeypatch.setattr(disk.os, "write", full_write)
    with pytest.raises(DiskFull):
        temp.write(b"data")
    assert temp.discarded
    assert files_under(tmp_path) == []
