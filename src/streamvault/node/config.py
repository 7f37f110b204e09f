"""The node's configuration: defaults < TOML file < ``STREAMVAULT_*`` environment < flags.

Pure: takes the file's text, the environment and the flags as values. Unknown keys are an
error that names them, so a typo never silently turns a feature off.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..backfiller.command import parse_start
from ..chat.emotes import DEFAULT_URL as EMOTES_URL
from ..cliargs import check_peer_url
from ..errors import BadTime, ConfigError, UnsafePath
from ..store.naming import check_path_part
from ..timeutil import parse_hour

ENV_PREFIX = "STREAMVAULT_"


@dataclass(slots=True)
class NodeConfig:
    base_dir: str = "./data"
    channels: list[str] = field(default_factory=list)
    qualities: list[str] = field(default_factory=lambda: ["source"])
    host: str = "0.0.0.0"
    port: int = 8000
    idle_timeout: float = 20.0  # seconds a connection may take to send a request head
    max_connections: int | None = None  # served at once (default 4096, within the fd limit)
    # peers for the backfiller
    nodes: list[str] = field(default_factory=list)
    node_file: str | None = None
    node_dns: str | None = None
    localhost: str | None = None
    # downloader
    twitch_gql_url: str | None = None
    twitch_usher_url: str | None = None
    twitch_usher_path: str = "v2"  # v2: /api/v2/channel/hls/...; v1: /api/channel/hls/...
    twitch_auth_file: str | None = None
    ca_file: str | None = None
    stop_grace: float = 10.0  # seconds in-flight downloads get on SIGTERM
    max_segment_bytes: int = 64 << 20  # a larger segment body is refused, not stored
    # backfiller
    backfill_start: str = "336"  # hours ago, or a time
    recent_cutoff: float = 60.0
    backfill_interval: float = 10.0
    extras: list[str] = field(default_factory=list)  # extra directories, e.g. ["emotes"]
    max_tombstone_share: float = 0.1  # peers' tombstones hiding more of an hour are held back
    accept_tombstones: list[str] = field(default_factory=list)  # hours let through anyway
    # coverage: other nodes whose maps the HTML page shows, as NAME=URL
    coverage_nodes: list[str] = field(default_factory=list)
    coverage_interval: float = 60.0
    # chat archive (SPEC §14)
    chat: bool = False
    irc_host: str = "irc.chat.twitch.tv"
    irc_port: int | None = None  # 6697 with TLS, 6667 without
    irc_tls: bool = True
    twitch_nick: str | None = None  # the login a twitch_auth_file token belongs to
    node_name: str | None = None  # this node's name in chat receivers (default: host name)
    chat_merge_interval: float = 60.0
    emotes: bool = False  # fetch chat's emote images into BASE/emotes
    emotes_url: str = EMOTES_URL
    # time: for the simulator (a time scale shared with `streamvault sim`, from a common
    # epoch in Unix seconds) and for testing a node whose clock is off (seconds, + is ahead)
    time_scale: float = 1.0
    time_epoch: float = 0.0
    clock_offset: float = 0.0
    # events and the cutter (SPEC §12); database_url None: SQLite in BASE/.streamvault/
    database_url: str | None = None
    cutter: bool = False
    cutter_output: str = "./cuts"
    cutter_lease: float = 60.0
    s3_endpoint_url: str | None = None
    # operations
    console_port: int | None = None
    log_level: str = "INFO"
    downloader: bool = True
    backfiller: bool = True
    coverage: bool = True

    @property
    def recording(self) -> bool:
        return self.downloader and bool(self.channels)


FIELDS = {f.name: f for f in dataclasses.fields(NodeConfig)}


def _kind(name: str) -> str:
    default = NodeConfig()
    value = getattr(default, name)
    annotation = str(FIELDS[name].type)
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, list):
        return "list"
    if "int" in annotation:
        return "int"
    if "float" in annotation:
        return "float"
    return "str"


def _coerce(name: str, value: Any, source: str) -> Any:
    kind = _kind(name)
    try:
        if kind == "list":
            if isinstance(value, str):
                return [item.strip() for item in value.split(",") if item.strip()]
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                return list(value)
            raise TypeError
        if kind == "bool":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise TypeError
        if kind == "int":
            if value is None or value == "":
                return None
            if isinstance(value, bool):
                raise TypeError
            return int(value)
        if kind == "float":
            if isinstance(value, bool):
                raise TypeError
            return float(value)
        return None if value is None else str(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{source}: {name} must be {_KIND_WORDS[kind]}, not {value!r}") from None


_KIND_WORDS = {
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
    "list": "a list of strings (or one comma-separated string)",
    "str": "a string",
}


def parse_toml(text: str, source: str = "config file") -> dict[str, Any]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{source}: not valid TOML: {err}") from err
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise ConfigError(f"{source}: unknown keys: {', '.join(unknown)}")
    return {name: _coerce(name, value, source) for name, value in data.items()}


def from_environment(env: Mapping[str, str]) -> dict[str, Any]:
    values = {}
    for name in FIELDS:
        key = ENV_PREFIX + name.upper()
        if key in env:
            values[name] = _coerce(name, env[key], f"environment {key}")
    return values


def load(
    file_text: str | None,
    env: Mapping[str, str],
    flags: Mapping[str, Any],
    file_name: str = "config file",
) -> NodeConfig:
    """Merge the layers; ``flags`` holds only the flags given on the command line."""
    merged: dict[str, Any] = {}
    if file_text is not None:
        merged.update(parse_toml(file_text, file_name))
    merged.update(from_environment(env))
    for name, value in flags.items():
        if name not in FIELDS:
            raise ConfigError(f"unknown setting {name!r}")
        merged[name] = _coerce(name, value, f"--{name.replace('_', '-')}")
    config = NodeConfig(**merged)
    check(config)
    return config


def check(config: NodeConfig) -> None:
    """Refuse settings that cannot work, with one line that says which and why."""
    if config.port < 0 or config.port > 65535:
        raise ConfigError(f"port out of range: {config.port}")
    for name in config.extras:
        try:
            check_path_part(name, "directory")
        except UnsafePath as err:
            raise ConfigError(f"extras: {err}") from None
    if not config.qualities:
        raise ConfigError("qualities: give at least one quality, e.g. source,480p")
    for url in config.nodes:
        try:
            check_peer_url(url)
        except ValueError as err:
            raise ConfigError(f"nodes: {err}") from None
    try:
        parse_start(config.backfill_start)
    except BadTime as err:
        raise ConfigError(f"backfill_start: {err}") from None
    if not 0.0 <= config.max_tombstone_share <= 1.0:
        raise ConfigError(f"max_tombstone_share must be from 0 to 1: {config.max_tombstone_share}")
    for hour in config.accept_tombstones:
        try:
            parse_hour(hour)
        except BadTime:
            hint = "not an hour like 2026-11-28T04"
            raise ConfigError(f"accept_tombstones: {hint}: {hour!r}") from None
    if config.twitch_usher_path not in ("v1", "v2"):
        raise ConfigError(f"twitch_usher_path must be v1 or v2, not {config.twitch_usher_path!r}")
    if config.stop_grace < 0:
        raise ConfigError(f"stop_grace must not be negative: {config.stop_grace}")
    if config.max_segment_bytes <= 0:
        raise ConfigError(f"max_segment_bytes must be positive: {config.max_segment_bytes}")
    if not config.time_scale > 0:
        raise ConfigError(f"time_scale must be positive: {config.time_scale}")
