from __future__ import annotations

import base64
import dataclasses
import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamvault.errors import MalformedName
from streamvault.store.naming import (
    EMPTY_HASH,
    SEGMENT_TYPES,
    Segment,
    canonical_tombstone,
    file_stem,
    format_name,
    hash_bytes,
    hidden_segment_name,
    is_legacy_tombstone_name,
    is_temp_name,
    is_tombstone_name,
    parse_name,
    parse_path,
    parse_temp_name,
    temp_name,
    tombstone_name,
)

EXAMPLE = (
    "desertbus/source/2019-11-13T02/"
    "45:51.608000-2.0-full-7IS92rssMzoSBQDIevHStbTNy-URRV3Vw-jzZ6pwOZM.ts"
)


def test_spec_example_parses_to_its_fields() -> None:
    segment = parse_path(EXAMPLE)
    assert segment.channel == "desertbus"
    assert segment.quality == "source"
    assert segment.start == datetime(2019, 11, 13, 2, 45, 51, 608000, tzinfo=UTC)
    assert segment.duration == 2.0
    assert segment.type == "full"
    # The hash contains "-": only the first three "-" split the name.
    assert segment.hash == "7IS92rssMzoSBQDIevHStbTNy-URRV3Vw-jzZ6pwOZM"
    assert segment.path == EXAMPLE
    assert segment.end == segment.start + timedelta(seconds=2)


def test_hash_is_url_safe_base64_sha256_without_padding() -> None:
    # SPEC §3 prints the empty file's hash as 47DEQpj8HBSa_-TImW_5...: that has "-" and "_"
    # swapped against URL-safe base64 (and against what wubloader nodes write, b64encode with
    # altchars "-_"), which the same sentence also asks for. Compatibility wins: URL-safe.
    digest = hashlib.sha256(b"").digest()
    assert digest.hex().startswith("e3b0c442")
    assert hash_bytes(b"") == EMPTY_HASH == "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"
    assert base64.b64encode(digest, altchars=b"-_").decode().rstrip("=") == EMPTY_HASH
    assert len(hash_bytes(b"x" * 1000)) == 43


def test_durations_are_written_as_python_writes_floats() -> None:
    start = datetime(2026, 1, 1, 0, 0, 0, tzinfo=UTC)
    assert format_name(start, 2.0, "full", "A" * 43).startswith("00:00.000000-2.0-full-")
    assert format_name(start, 2.002, "full", "A" * 43).startswith("00:00.000000-2.002-full-")


@pytest.mark.parametrize(
    "name",
    [
        "45:51.608000-2.0-full-tooshort.ts",
        "45:51.608-2.0-full-7IS92rssMzoSBQDIevHStbTNy-URRV3Vw-jzZ6pwOZM.ts",  # 3 fraction digits
        "45:51.608000-2-full-7IS92rssMzoSBQDIevHStbTNy-URRV3Vw-jzZ6pwOZM.ts",  # "2" not "2.0"
        "45:51.608000-nan-full-7IS92rssMzoSBQDIevHStbTNy-URRV3Vw-jzZ6pwOZM.ts",
        "45:51.608000--2.0-full-7IS92rssMzoSBQDIevHStbTNy-URRV3Vw-jzZ6pwOZM.ts",
        "45:51.608000-2.0-broken-7IS92rssMzoSBQDIevHStbTNy-URRV3Vw-jzZ6pwOZM.ts",
        "75:51.608000-2.0-full-7IS92rssMzoSBQDIevHStbTNy-URRV3Vw-jzZ6pwOZM.ts",
        "45:51.608000-2.0-full-7IS92rssMzoSBQDIevHStbTNy-URRV3Vw-jzZ6pwOZM.mp4",
        "45:51.608000-2.0-full-7IS92rssMzoSBQDIevHStbTNy+URRV3Vw-jzZ6pwOZM.ts",
        "45:51.608000-2.0-temp-5f2b9a4e-0d9c-4c4e-9b1a-3c1f1d2e3f4a.ts",
        "45:51.608000-2.0-full-7IS92rssMzoSBQDIevHStbTNy-URRV3Vw-jzZ6pwOZM.ts.tombstone",
        "",
        "garbage",
    ],
)
def test_malformed_names_raise_one_clear_error(name: str) -> None:
    with pytest.raises(MalformedName):
        parse_name("c", "q", "2019-11-13T02", name)


@pytest.mark.parametrize(
    "path",
    [
        "desertbus/source/2019-11-13T02",
        ".hidden/source/2019-11-13T02/45:51.608000-2.0-full-" + "A" * 43 + ".ts",
        "desertbus/source/2019-13-13T02/45:51.608000-2.0-full-" + "A" * 43 + ".ts",
        "desertbus/source/2019-11-13/45:51.608000-2.0-full-" + "A" * 43 + ".ts",
    ],
)
def test_malformed_paths_raise(path: str) -> None:
    with pytest.raises(MalformedName):
        parse_path(path)


@pytest.mark.parametrize("duration", [-1.0, float("nan"), float("inf"), 1e-05, 1e17])
def test_unstorable_durations_are_refused(duration: float) -> None:
    with pytest.raises(ValueError, match="not a storable segment duration"):
        format_name(datetime(2026, 1, 1, tzinfo=UTC), duration, "full", "A" * 43)


def test_temp_and_tombstone_names() -> None:
    start = datetime(2026, 11, 28, 4, 5, 6, 789000, tzinfo=UTC)
    uuid = "5f2b9a4e-0d9c-4c4e-9b1a-3c1f1d2e3f4a"
    name = temp_name(start, 2.0, uuid)
    assert name == f"05:06.789000-2.0-temp-{uuid}.ts"
    assert is_temp_name(name)
    assert parse_temp_name(name) == ("05:06.789000", 2.0, uuid)
    final = format_name(start, 2.0, "full", EMPTY_HASH)
    assert not is_temp_name(final)
    # the extension replaced, as wubloader nodes write it (SPEC §3)
    assert tombstone_name(final) == final.removesuffix(".ts") + ".tombstone"
    assert is_tombstone_name(tombstone_name(final))
    assert not is_tombstone_name(final)
    legacy = final + ".tombstone"
    assert is_tombstone_name(legacy) and is_legacy_tombstone_name(legacy)
    assert not is_legacy_tombstone_name(tombstone_name(final))
    for form in (legacy, tombstone_name(final)):
        assert canonical_tombstone(form) == tombstone_name(final)
        assert hidden_segment_name(form) == final
    assert tombstone_name("45:00-" + EMPTY_HASH + ".json") == "45:00-" + EMPTY_HASH + ".tombstone"


safe_text = st.text(
    alphabet=st.characters(whitelist_categories=("Ll", "Lu", "Nd"), whitelist_characters="_-"),
    min_size=1,
    max_size=20,
)
segments = st.builds(
    Segment,
    channel=safe_text,
    quality=safe_text,
    start=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    duration=st.one_of(
        st.just(0.0),
        st.floats(min_value=1e-4, max_value=1e6, allow_nan=False, allow_infinity=False),
    ),
    type=st.sampled_from(SEGMENT_TYPES),
    hash=st.binary(min_size=0, max_size=64).map(hash_bytes),
)


@given(segments)
def test_parse_of_format_is_identity(segment: Segment) -> None:
    assert parse_path(segment.path) == segment
    assert parse_name(segment.channel, segment.quality, segment.hour, segment.name) == segment


def test_non_ascii_digits_are_malformed_not_a_crash() -> None:
    with pytest.raises(MalformedName):
        parse_name("c", "q", "2019-11-13T02", "4²:51.608000-2.0-full-" + "A" * 43 + ".ts")


def test_a_parsed_segment_is_a_whole_frozen_segment() -> None:
    """The parser builds segments without ``__init__``: they must be the same in every way."""
    start = datetime(2026, 11, 28, 4, 5, 6, 7, tzinfo=UTC)
    built = Segment("c", "q", start, 2.002, "full", EMPTY_HASH)
    parsed = parse_name("c", "q", "2026-11-28T04", built.name)
    assert parsed == built and hash(parsed) == hash(built) and repr(parsed) == repr(built)
    assert parsed.size is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed.duration = 3.0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("name", "stem"),
    [
        ("45:51.608000-2.0-full-HASH.ts", "45:51.608000-2.0-full-HASH"),
        ("45:51.608000-2.0-full-HASH.ts.tombstone", "45:51.608000-2.0-full-HASH.ts"),
        ("10:00-HASH.json", "10:00-HASH"),
        (".hidden", ".hidden"),
        ("base.d/emotes/25/dark", "base.d/emotes/25/dark"),  # a dot in a directory is not one
        ("base.d/ch/source/H/X.ts", "base.d/ch/source/H/X"),
    ],
)
def test_file_stem_splits_the_last_extension_of_the_last_part(name: str, stem: str) -> None:
    assert file_stem(name) == stem
