"""Shared by the chat tests: the simulated chat, archivers pointed at it, and what the
archive on disk holds."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from streamvault.chat.archiver import ChannelArchiver, ChatArchiver, ChatSettings
from streamvault.chat.connection import ServerAddress
from streamvault.chat.merge import merge_all
from streamvault.chat.messages import message_id
from streamvault.chat.store import ChatStore
from streamvault.clock import Clock
from streamvault.sim.chat_server import ChatServer


async def wait_until(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    """Wait for a condition (checked every 20 ms of real time), failing after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def settings_for(server: ChatServer, node: str, **overrides: Any) -> ChatSettings:
    values: dict[str, Any] = {
        "node_name": node,
        "address": ServerAddress("127.0.0.1", server.port, tls=False),
        "handover_grace": 5.0,
        "merge_interval": 3600.0,  # tests merge when they mean to
        "backoff_min": 2.0,
        "backoff_max": 10.0,
    }
    values.update(overrides)
    return ChatSettings(**values)


def start_archiver(
    base: Path, server: ChatServer, node: str, clock: Clock, channel: str = "alpha", **kw: Any
) -> ChatArchiver:
    archiver = ChatArchiver(str(base), [channel], settings_for(server, node, **kw), clock)
    archiver.start()
    return archiver


async def finish(server: ChatServer, archivers: list[ChatArchiver], channel: str = "alpha") -> None:
    """Stop delivering, make sure every joined archiver has read everything sent, stop them."""
    server.paused = True
    marker = server.burst(channel, 1)[-1]
    joined = [a.channels[channel] for a in archivers if a.channels[channel].links]
    await wait_until(lambda: all(ch.last_id == marker for ch in joined))
    for archiver in archivers:
        await archiver.stop()


def key_of(message: dict[str, Any]) -> str:
    """The sim's key for a message: its id, COMMAND:user, or NOTICE:index."""
    ident = message_id(message)
    if ident is not None:
        return ident
    if message["command"] == "NOTICE":
        return "NOTICE:" + message["params"][-1].split(":")[0].split()[-1]
    return f"{message['command']}:{message['sender']}"


def archive(base: Path, channel: str = "alpha") -> tuple[dict[str, bytes], list[dict[str, Any]]]:
    """Every batch file (relative path -> bytes) and every message in them."""
    store = ChatStore(str(base))
    files = store.batch_files(channel, store.hours(channel))
    contents = {}
    messages = []
    for paths in files.values():
        for path in paths:
            contents[str(Path(path).relative_to(base))] = Path(path).read_bytes()
            messages.extend(store.read_file(path))
    return contents, messages


def counts(messages: list[dict[str, Any]]) -> Counter[str]:
    return Counter(key_of(m) for m in messages)


def merged_counts(base: Path, channel: str = "alpha") -> Counter[str]:
    _, messages = archive(base, channel)
    return counts(merge_all([messages]))


def channel_of(archiver: ChatArchiver, channel: str = "alpha") -> ChannelArchiver:
    return archiver.channels[channel]
