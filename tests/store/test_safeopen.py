"""Opening under the base directory never follows a symlink, with openat2 and without."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from streamvault.store import safeopen


@pytest.fixture(params=["openat2", "walk"])
def way(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "walk":
        monkeypatch.setattr(safeopen._openat2, "available", False)
    return str(request.param)


def tree(tmp_path: Path) -> str:
    base = tmp_path / "base"
    (base / "ch" / "q" / "h").mkdir(parents=True)
    (base / "ch" / "q" / "h" / "seg.ts").write_bytes(b"inside")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "seg.ts").write_bytes(b"outside")
    os.symlink(tmp_path / "outside", base / "ch" / "q" / "linked")
    os.symlink(tmp_path / "outside" / "seg.ts", base / "ch" / "q" / "h" / "link.ts")
    os.symlink(base / "ch", base / "alias")
    return str(base)


def read(fd: int) -> bytes:
    try:
        return os.read(fd, 100)
    finally:
        os.close(fd)


def test_files_and_directories_open_through_no_symlink(tmp_path: Path, way: str) -> None:
    base = tree(tmp_path)
    assert read(safeopen.open_file(base, ("ch", "q", "h", "seg.ts"))) == b"inside"
    for parts in (("ch", "q", "linked", "seg.ts"), ("ch", "q", "h", "link.ts"),
                  ("alias", "q", "h", "seg.ts")):  # fmt: skip
        with pytest.raises(OSError, match=r"symbolic links|Not a directory") as caught:
            safeopen.open_file(base, parts)
        assert caught.value.errno in (errno.ELOOP, errno.ENOTDIR), (way, parts)
        assert safeopen.is_refused(caught.value)
    assert safeopen.is_real_dir(base, ("ch", "q", "h"))
    assert not safeopen.is_real_dir(base, ("ch", "q", "linked"))
    assert not safeopen.is_real_dir(base, ("alias",))
    assert not safeopen.is_real_dir(base, ("ch", "q", "h", "seg.ts"))


def test_the_base_directory_itself_may_be_a_symlink(tmp_path: Path, way: str) -> None:
    base = tree(tmp_path)
    os.symlink(base, tmp_path / "data")
    assert read(safeopen.open_file(str(tmp_path / "data"), ("ch", "q", "h", "seg.ts"))) == b"inside"
