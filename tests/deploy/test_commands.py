"""Every ``streamvault`` command and flag the deployment files use exists, and every full
command line is accepted by the real parser and the node's configuration loader."""

from __future__ import annotations

import functools
import re
import subprocess
import sys
from pathlib import Path

import pytest

from streamvault.cli import build_parser
from streamvault.node.command import config_from_args

from .deployfiles import IMAGE_CONFIG, flags_of, k8s_object, streamvault_commands

COMMANDS = list(streamvault_commands())


@functools.cache
def options(command: str) -> frozenset[str]:
    """The ``--flags`` that ``streamvault COMMAND --help`` lists."""
    return frozenset(re.findall(r"(?<![\w-])(--[a-z0-9][a-z0-9-]*)", help_text(command)))


@functools.cache
def help_text(command: str) -> str:
    """``streamvault COMMAND --help`` from a fresh process, as an operator would see it."""
    argv = [sys.executable, "-m", "streamvault", *([command] if command else []), "--help"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_deployments_run_streamvault() -> None:
    sources = {where.split(":")[0].split(" ")[0] for where, _ in COMMANDS}
    assert {"Dockerfile", "node.yml", "cluster.yml", "statefulset", "workflow"} <= sources


@pytest.mark.parametrize(("where", "args"), COMMANDS, ids=[where for where, _ in COMMANDS])
def test_command_and_flags_exist(where: str, args: list[str]) -> None:
    command = args[0] if args and not args[0].startswith("-") else ""
    text = help_text(command)
    assert "not built yet" not in text, f"{where}: streamvault {command} is not built"
    for flag in flags_of(args):
        if flag in ("--help", "--version"):
            continue
        assert flag in options(command), f"{where}: `streamvault {command}` has no flag {flag}"


@pytest.mark.parametrize(
    ("where", "args"),
    [(w, a) for w, a in COMMANDS if a[:1] == ["node"] and "--help" not in a],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_node_command_lines_load(
    where: str, args: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The whole line parses, and the node builds its configuration from it. The config file
    is the image's (read from the repository), or on Kubernetes the ConfigMap's."""
    config_file = IMAGE_CONFIG
    if where.startswith("statefulset"):
        config_file = tmp_path / "node.toml"
        config_file.write_text(k8s_object("ConfigMap")["data"]["node.toml"])
    args = [str(config_file) if a == "/etc/streamvault/node.toml" else a for a in args]
    parsed = build_parser().parse_args(args)
    monkeypatch.setattr(sys, "argv", ["streamvault", *args])
    # The image's bare CMD takes its channels from the environment (docker run -e ...).
    env = {"STREAMVAULT_CHANNELS": "one!,two"} if where == "Dockerfile CMD" else {}
    config = config_from_args(parsed, env=env)
    assert config.base_dir == "/data"
    assert config.port == 8000 and config.host == "0.0.0.0"
    assert config.channels, f"{where}: the node would record nothing"
    if "--channel" in args:
        assert config.channels == [args[args.index("--channel") + 1]]
    if "--localhost" in args:
        assert config.localhost == args[args.index("--localhost") + 1]
    if where.startswith("statefulset"):
        assert config.node_dns == "streamvault-peers"
    elif "--node" in args:
        assert len(config.nodes) == 2
