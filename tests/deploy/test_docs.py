"""The operator's guide stays true: its configuration reference names exactly the node's
keys, every flag it shows exists, and the files it points to are in the repository."""

from __future__ import annotations

import dataclasses
import re

import pytest

from streamvault.node.config import NodeConfig

from .deployfiles import REPO, alert_rules
from .test_commands import options

GUIDE = REPO / "docs" / "operators-guide.md"
COMMANDS = ("node", "download", "restream", "backfill", "coverage", "sim", "demo")


def reference_rows() -> list[list[str]]:
    """The cells of the configuration reference table's rows."""
    text = GUIDE.read_text()
    section = text.split("## Configuration reference", 1)[1].split("\n## ", 1)[0]
    return [line.split("|")[1:-1] for line in section.splitlines() if line.startswith("| `")]


def reference_keys() -> set[str]:
    return {key for row in reference_rows() for key in re.findall(r"`([a-z][a-z0-9_]*)`", row[0])}


def test_configuration_reference_lists_exactly_the_node_keys() -> None:
    fields = {f.name for f in dataclasses.fields(NodeConfig)}
    documented = reference_keys()
    assert fields - documented == set(), "keys the guide does not describe"
    assert documented - fields == set(), "keys the guide describes that the node refuses"
    flags = {flag for row in reference_rows() for flag in re.findall(r"--[a-z][a-z0-9-]*", row[1])}
    assert len(flags) >= 15
    assert flags <= options("node"), f"not node flags: {sorted(flags - options('node'))}"


def shown_commands() -> list[tuple[str, list[str]]]:
    """(command, flags) for every ``streamvault COMMAND ...`` the guide shows."""
    found = []
    pattern = re.compile(rf"\bstreamvault ({'|'.join(COMMANDS)})\b([^`\n]*)")
    for match in pattern.finditer(GUIDE.read_text()):
        found.append((match.group(1), re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", match[2])))
    return found


@pytest.mark.parametrize(("command", "flags"), shown_commands(), ids=lambda v: str(v))
def test_flags_the_guide_shows_exist(command: str, flags: list[str]) -> None:
    for flag in flags:
        assert flag in options(command), f"the guide shows `streamvault {command} {flag}`"


def test_files_the_guide_mentions_exist() -> None:
    text = GUIDE.read_text()
    paths = set(re.findall(r"`((?:deploy|docs)/[\w./-]+)`", text))
    paths |= {f"docs/{p}" for p in re.findall(r"\]\(([\w-]+\.md)\)", text)}
    assert len(paths) >= 8
    missing = sorted(p for p in paths if not (REPO / p).exists())
    # metrics-coverage.md is written by the coverage component's author.
    assert not [p for p in missing if p != "docs/metrics-coverage.md"], missing


def test_every_alert_has_a_runbook_entry() -> None:
    guide = GUIDE.read_text()
    reference = (REPO / "docs" / "metrics.md").read_text()
    for rule in alert_rules():
        assert f"| `{rule['alert']}` |" in guide, f"the guide says nothing on {rule['alert']}"
        assert f"| `{rule['alert']}` |" in reference, f"docs/metrics.md omits {rule['alert']}"
