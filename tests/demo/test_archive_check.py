from __future__ import annotations

from datetime import UTC, datetime, timedelta

from streamvault.demo.archive_check import check_archives
from streamvault.store.naming import Segment, SegmentType, hash_bytes

T0 = datetime(2026, 11, 28, 4, tzinfo=UTC)


def seg(i: int, type: SegmentType = "full", quality: str = "source") -> Segment:
    data = f"{quality}{i}".encode() + (b"-cut" if type != "full" else b"")
    return Segment("demo", quality, T0 + timedelta(seconds=2 * i), 2.0, type, hash_bytes(data))


BROADCAST = {"source": {seg(i).hash for i in range(3)}}


def test_identical_complete_archives_pass() -> None:
    holdings = {"a": [seg(0), seg(1), seg(2)], "b": [seg(2), seg(1), seg(0)]}
    assert check_archives(BROADCAST, holdings).ok


def test_a_partial_copy_does_not_count_as_held() -> None:
    holdings = {"a": [seg(0), seg(1, "partial"), seg(2)], "b": [seg(0), seg(1, "partial"), seg(2)]}
    verdict = check_archives(BROADCAST, holdings)
    assert not verdict.ok
    assert len(verdict.missing["a"]) == 1 and len(verdict.missing["b"]) == 1


def test_a_file_only_one_node_holds_is_reported() -> None:
    holdings = {"a": [seg(0), seg(1), seg(2), seg(1, "partial")], "b": [seg(0), seg(1), seg(2)]}
    verdict = check_archives(BROADCAST, holdings)
    assert not verdict.ok
    assert verdict.only_on["a"] == [seg(1, "partial").path]
    assert any("only node a" in line for line in verdict.lines())
