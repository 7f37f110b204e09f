from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from streamvault.coverage import command
from streamvault.coverage.command import parse_node
from streamvault.coverage.maps import Node
from streamvault.metrics import render

from .builders import run, touch_segments


def main(argv: list[str]) -> int:
    """``streamvault coverage ARGS`` through this component's own CLI contract."""
    assert argv[0] == "coverage"
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    return command.run(parser.parse_args(argv[1:]))


def test_coverage_once_writes_the_maps_of_every_variant(tmp_path: Path) -> None:
    touch_segments(str(tmp_path), run(0, 900))
    other = [s.__class__("d", "480p", s.start, s.duration, s.type, s.hash) for s in run(0, 10)]
    touch_segments(str(tmp_path), other)
    code = main(
        [
            "coverage",
            "--base-dir",
            str(tmp_path),
            "--once",
            "--node",
            "north=http://north.example:8000",
            "--node",
            "south=http://south.example",
        ]
    )
    assert code == 0
    maps = sorted(p.name for p in (tmp_path / "coverage-maps").iterdir())
    assert maps == [
        "c_q_coverage.html",
        "c_q_coverage.png",
        "d_480p_coverage.html",
        "d_480p_coverage.png",
    ]
    page = (tmp_path / "coverage-maps" / "d_480p_coverage.html").read_text()
    assert "north" in page and "south" in page
    assert b"streamvault_coverage_" not in render()  # the one-shot run leaves no collector


def test_coverage_once_only_the_channels_and_qualities_asked_for(tmp_path: Path) -> None:
    touch_segments(str(tmp_path), run(0, 10))
    code = main(
        [
            "coverage",
            "--base-dir",
            str(tmp_path),
            "--once",
            "--channel",
            "c",
            "--qualities",
            "q,480p",
            "--node",  # whose 480p map the page for 480p shows, though this node has none
            "other=http://127.0.0.1:9",
        ]
    )
    assert code == 0
    maps = sorted(p.name for p in (tmp_path / "coverage-maps").iterdir())
    assert maps == ["c_480p_coverage.html", "c_q_coverage.html", "c_q_coverage.png"]


def test_node_arguments() -> None:
    assert parse_node("a=http://h:1/") == Node("a", "http://h:1/")
    assert parse_node("https://h") == Node("https://h", "https://h")
    with pytest.raises(argparse.ArgumentTypeError):
        parse_node("a=ftp://h")
