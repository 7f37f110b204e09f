"""The fault model: matching by channel/quality/node and span, scenarios, bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from streamvault.errors import ConfigError
from streamvault.sim.faults import (
    KINDS,
    MARKINGS,
    Fault,
    FaultSet,
    fault_from_dict,
    faults_from_json,
    parse_scenario,
)


@pytest.mark.parametrize(
    ("fault", "sequence", "seconds", "expected"),
    [
        (Fault("empty_body"), 5, 10.0, True),
        (Fault("empty_body", sequence=5), 5, 10.0, True),
        (Fault("empty_body", sequence=5), 6, 12.0, False),
        (Fault("empty_body", from_sequence=3, to_sequence=5), 5, 10.0, True),
        (Fault("empty_body", from_sequence=3, to_sequence=5), 6, 12.0, False),
        (Fault("empty_body", from_sequence=3), 2, 4.0, False),
        (Fault("empty_body", from_seconds=10.0, to_seconds=20.0), 5, 10.0, True),
        (Fault("empty_body", from_seconds=10.0, to_seconds=20.0), 10, 20.0, False),
    ],
)
def test_span(fault: Fault, sequence: int, seconds: float, expected: bool) -> None:
    assert fault.covers(sequence, seconds) is expected


def test_selection_by_channel_quality_and_node() -> None:
    fault = Fault("empty_body", channel="Alpha", quality="480p", node="b")
    assert fault.selects("alpha", "480p", "b")
    assert not fault.selects("alpha", "480p", None)
    assert not fault.selects("alpha", "source", "b")
    assert not fault.selects("beta", "480p", "b")
    assert Fault("empty_body").selects("beta", "source", "b")


def test_fault_set_returns_first_matching_kind() -> None:
    faults = FaultSet([Fault("skew", sequence=3, skew_seconds=1.0), Fault("skew")])
    found = faults.segment_fault("skew", "alpha", "source", None, 3, 6.0)
    assert found is not None and found.skew_seconds == 1.0
    other = faults.segment_fault("skew", "alpha", "source", None, 4, 8.0)
    assert other is not None and other.skew_seconds == 5.0
    assert faults.segment_fault("empty_body", "alpha", "source", None, 3, 6.0) is None
    faults.clear()
    assert len(faults) == 0


def test_scenario_file() -> None:
    faults = parse_scenario(
        """
        [[fault]]
        kind = "segment_status"
        channel = "alpha"
        sequence = 12
        status = 404

        [[fault]]
        kind = "ad_break"
        marking = "scte35"
        from_sequence = 20
        to_sequence = 24
        node = "b"
        """
    )
    assert faults == [
        Fault("segment_status", channel="alpha", sequence=12, status=404),
        Fault("ad_break", marking="scte35", from_sequence=20, to_sequence=24, node="b"),
    ]


@pytest.mark.parametrize(
    "bad",
    [
        {"kind": "meteor"},
        {"kind": "segment_status"},
        {"kind": "segment_status", "status": 200},
        {"kind": "ad_break", "marking": "banner"},
        {"kind": "empty_body", "colour": "red"},
        {"sequence": 3},
        "empty_body",
    ],
)
def test_bad_faults_are_refused(bad: object) -> None:
    with pytest.raises(ConfigError):
        fault_from_dict(bad)  # type: ignore[arg-type]


def test_bad_scenarios_are_refused() -> None:
    with pytest.raises(ConfigError):
        parse_scenario("[[fault]\nkind=")
    with pytest.raises(ConfigError):
        parse_scenario("[sim]\nport = 1\n")


def test_json_one_or_many_and_round_trip() -> None:
    fault = Fault("playlist_status", status=403, quality="480p")
    assert faults_from_json(fault.to_dict()) == [fault]
    assert faults_from_json([fault.to_dict(), {"kind": "endlist"}]) == [fault, Fault("endlist")]


def test_example_scenario_has_every_kind() -> None:
    import streamvault.sim

    path = Path(streamvault.sim.__file__).parent / "scenarios" / "example.toml"
    faults = parse_scenario(path.read_text())
    assert {fault.kind for fault in faults} == KINDS
    assert {fault.marking for fault in faults if fault.kind == "ad_break"} == set(MARKINGS)
