from __future__ import annotations

import os
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamvault.errors import MalformedName
from streamvault.store import naming
from streamvault.store.disk import HourListing, list_hour
from streamvault.store.naming import TOMBSTONE_SUFFIX, Segment, is_temp_name, name_hash, parse_name

HASH = "7IS92rssMzoSBQDIevHStbTNy-URRV3Vw-jzZ6pwOZM"
AWKWARD = [
    f"45:51.608000-2.0-full-{HASH}.ts",
    f"45:53.608000-2.002-suspect-{HASH}.ts",
    f"45:55.608000-1e-05-partial-{HASH}.ts",  # a dash in the duration: bad for both
    f"45:57.000000-2.00-full-{HASH}.ts",  # not how Python writes 2.0: bad
    f"45:59.000000-2-full-{HASH}.ts",
    f"61:00.000000-2.0-full-{HASH}.ts",
    f"00:61.000000-2.0-full-{HASH}.ts",
    f"00:00.00000-2.0-full-{HASH}.ts",
    f"00:00.000000-2.0-other-{HASH}.ts",
    f"00:00.000000-2.0-full-{HASH[:-1]}.ts",
    "00:00.000000-2.0-temp-0f8fad5b-d9cb-469f-a165-70867728950e.ts",
    f"00:02.000000-2.0-full-{HASH}.ts.tombstone",  # the legacy form: still hides
    f"00:02.000000-2.0-full-{HASH}.ts",
    f"00:04.000000-2.0-full-{HASH}.tombstone",  # the canonical form, as wubloader writes it
    f"00:04.000000-2.0-full-{HASH}.ts",
    f"00:06.000000-2.0-full-{HASH}.ts.tombstone",  # both forms of one: listed once
    f"00:06.000000-2.0-full-{HASH}.tombstone",
    f"00:06.000000-2.0-full-{HASH}.ts",
    f"01:00-{HASH}.json",  # a chat batch: not a segment
    "notes.json",
    f"02:00-{HASH}.json.0f8fad5b-d9cb-469f-a165-70867728950e.temp",  # wubloader's chat temp
    ".hidden",
    "notes.txt",
]


def reference_listing(directory: str) -> HourListing:
    """What the listing must equal: every name through the general (slow) parser."""
    listing = HourListing()
    names = [n for n in os.listdir(directory) if not n.startswith(".")]
    # a tombstone X.tombstone (or legacy X.ts.tombstone) hides every X.EXT
    stems = {
        n.removesuffix(TOMBSTONE_SUFFIX).removesuffix(".ts")
        for n in names
        if n.endswith(TOMBSTONE_SUFFIX)
    }
    listing.tombstones = sorted(stem + TOMBSTONE_SUFFIX for stem in stems)
    for name in names:
        if name.endswith((TOMBSTONE_SUFFIX, ".temp")) or is_temp_name(name):
            continue
        if os.path.splitext(name)[0] in stems:
            continue
        if name.endswith(".json"):
            listing.chat.append(name)  # parsed as a chat batch, or bad
            continue
        try:
            segment = _general_parse(name)
        except MalformedName:
            listing.bad.append(name)
            continue
        listing.segments.append(segment)
        listing.visible.append(name)
    return listing


def _general_parse(name: str) -> Segment:
    """parse_name without its fast path for the usual form of name."""
    fast, naming._CANONICAL = naming._CANONICAL, re.compile(r"(?!)")  # never matches
    try:
        return parse_name("c", "q", "2026-11-28T03", name)
    finally:
        naming._CANONICAL = fast


def compare(directory: str) -> None:
    slow = reference_listing(directory)
    fast = list_hour(directory, "c", "q", "2026-11-28T03")
    assert sorted(fast.segments, key=lambda s: (s.start, s.type)) == sorted(
        slow.segments, key=lambda s: (s.start, s.type)
    )
    assert sorted(fast.visible) == sorted(slow.visible)
    assert sorted(fast.bad) == sorted(slow.bad + [n for n in slow.chat if n.startswith("notes")])
    assert sorted(fast.chat) == sorted(n for n in slow.chat if not n.startswith("notes"))
    assert fast.tombstones == slow.tombstones


def test_same_as_the_store_listing_on_awkward_names(tmp_path: pytest.TempPathFactory) -> None:
    for name in AWKWARD:
        open(os.path.join(str(tmp_path), name), "wb").close()
    compare(str(tmp_path))
    fast = list_hour(str(tmp_path), "c", "q", "2026-11-28T03")
    assert len(fast.segments) == 2 and len(fast.tombstones) == 3
    assert [b.start.minute for b in fast.batches] == [1]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.text(alphabet="0123456789:.-abcefilprstu", max_size=30), max_size=6))
def test_same_as_the_store_listing_on_any_names(
    tmp_path_factory: pytest.TempPathFactory, names: list[str]
) -> None:
    directory = str(tmp_path_factory.mktemp("names"))
    for name in set(names):
        if name and name not in (".", "..") and "/" not in name:
            open(os.path.join(directory, name + f"-{HASH}.ts"), "wb").close()
    compare(directory)


def test_missing_directory() -> None:
    assert list_hour("/nonexistent/x", "c", "q", "2026-11-28T03").segments == []


def test_name_hash_reads_the_usual_form_only() -> None:
    assert name_hash(f"45:51.608000-2.0-full-{HASH}.ts") == HASH
    assert name_hash(f"45:51.608000-2-full-{HASH}.ts") is None
    assert name_hash("notes.txt") is None
