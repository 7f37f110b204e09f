"""Chat batch names round-trip to the byte (SPEC §3, §14)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamvault.errors import MalformedName
from streamvault.store.chat_naming import (
    batch_name_for,
    batch_start,
    format_batch_name,
    parse_batch_name,
)
from streamvault.store.naming import hash_bytes


def test_name_carries_the_content_hash() -> None:
    start = datetime(2026, 11, 28, 4, 5, tzinfo=UTC)
    content = b'{"command":"PRIVMSG"}'
    name = batch_name_for(start, content)
    assert name == f"05:00-{hash_bytes(content)}.json"
    batch = parse_batch_name("desertbus", "2026-11-28T04", name)
    assert batch.start == start
    assert batch.path == f"desertbus/chat/2026-11-28T04/{name}"


@pytest.mark.parametrize(
    "name",
    [
        "05:00-short.json",
        "05:30-" + "A" * 43 + ".json",  # not on a whole minute
        "5:00-" + "A" * 43 + ".json",
        "05:00-" + "A" * 43 + ".ts",
        "61:00-" + "A" * 43 + ".json",
    ],
)
def test_bad_names_are_refused(name: str) -> None:
    with pytest.raises(MalformedName):
        parse_batch_name("c", "2026-11-28T04", name)


def test_unaligned_start_cannot_be_named() -> None:
    with pytest.raises(ValueError, match="aligned"):
        format_batch_name(datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC), "A" * 43)


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)))
def test_batch_start_round_trips(when: datetime) -> None:
    start = batch_start(when.replace(tzinfo=UTC))
    name = format_batch_name(start, "A" * 43)
    assert parse_batch_name("c", start.strftime("%Y-%m-%dT%H"), name).start == start
