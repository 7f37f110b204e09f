from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from streamvault.errors import ConfigError
from streamvault.node.config import NodeConfig, load

EXAMPLE = Path(__file__).parents[2] / "deploy" / "node.example.toml"


def test_example_file_loads_and_needs_only_channels() -> None:
    config = load(EXAMPLE.read_text(), {}, {})
    assert config.channels == ["desertbus!"]
    assert config.extras == ["emotes"]
    minimal = load('channels = ["foo"]', {}, {})
    assert minimal.recording and minimal.port == 8000 and minimal.qualities == ["source"]


def test_layers_file_then_environment_then_flags() -> None:
    text = 'port = 8100\nchannels = ["a"]\nbase_dir = "/file"\n'
    env = {"STREAMVAULT_PORT": "8200", "STREAMVAULT_CHANNELS": "b!,c", "STREAMVAULT_COVERAGE": "no"}
    config = load(text, env, {"port": 8300})
    assert config.port == 8300
    assert config.channels == ["b!", "c"]
    assert config.base_dir == "/file"
    assert config.coverage is False


def test_unknown_keys_are_named() -> None:
    with pytest.raises(ConfigError, match="unknown keys: chanels, prot"):
        load('chanels = ["a"]\nprot = 1\n', {}, {})


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        ('port = "eighty"', {}, "port must be a whole number"),
        ("channels = 3", {}, "channels must be a list"),
        ("", {"STREAMVAULT_DOWNLOADER": "maybe"}, "STREAMVAULT_DOWNLOADER"),
        ("port = [", {}, "not valid TOML"),
        ("port = 70000", {}, "port out of range"),
    ],
)
def test_bad_values_are_clear_errors(text: str, env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load(text, env, {})


def test_cli_refuses_unknown_keys_with_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "node.toml"
    config.write_text('channels = ["a"]\nbogus_key = true\n')
    result = subprocess.run(
        [sys.executable, "-m", "streamvault", "node", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "unknown keys: bogus_key" in result.stderr


def test_defaults_are_sensible() -> None:
    config = NodeConfig()
    assert (config.downloader, config.backfiller, config.coverage) == (True, True, True)
    assert config.console_port is None  # the console is off unless asked for


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--backfill-start", "next tuesday", "--node", "http://127.0.0.1:9"], "backfill_start"),
        (["--twitch-auth-file", "/nonexistent/token"], "twitch_auth_file"),
        (["--channel", ".hidden"], "bad channel name"),
        (["--node", "http://127.0.0.1:9", "--extras", "../up"], "extras"),
    ],
)
def test_bad_settings_found_at_start_are_clear_errors(
    tmp_path: Path, flags: list[str], message: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "streamvault", "node", "--channel", "a", "--port", "0",
         "--host", "127.0.0.1", "--base-dir", str(tmp_path), *flags],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr[-2000:]
    assert message in result.stderr
    assert "Traceback" not in result.stderr
