"""The archiver against the simulated Twitch chat, end to end over real sockets."""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path
from typing import Any

import pytest

from streamvault.chat.store import ChatStore
from streamvault.clock import ScaledClock
from streamvault.sim.chat_server import ChatServer

from .chathelp import archive, channel_of, counts, finish, start_archiver, wait_until


# 5x, not 20x: a message without a server time is dated from its connection's last timestamped
# one, padded 5 s either way; at 20x a quarter-second stall of one connection on a loaded
# machine is 5 sim seconds, and the two connections' copies of a NOTICE no longer overlap.
@pytest.mark.parametrize("clock", [5.0], indirect=True)
async def test_reconnect_mid_stream_loses_nothing_and_doubles_nothing(
    tmp_path: Path, server: ChatServer, clock: ScaledClock
) -> None:
    archiver = start_archiver(tmp_path, server, "node-a", clock)
    await archiver.wait_joined()
    chan = channel_of(archiver)
    await wait_until(lambda: len(server.sent["alpha"]) > 100)
    assert server.reconnect() == 1
    await wait_until(lambda: server.connections_opened == 2 and len(chan.links) == 2)
    await wait_until(lambda: len(chan.links) == 1)  # the old one retired after the grace
    await wait_until(lambda: len(server.sent["alpha"]) > 400)
    await finish(server, [archiver])
    await channel_of(archiver).merge_once()

    contents, messages = archive(tmp_path)
    found = counts(messages)
    sent = server.sent["alpha"]
    assert len(set(sent)) == len(sent)
    assert {k: found[k] for k in sent if found[k] != 1} == {}
    assert set(found) == set(sent)
    # one file per batch time after the merge
    starts = [name.rsplit("/", 1)[-1].split("-")[0] + name.split("/")[2] for name in contents]
    assert len(starts) == len(set(starts))
    # the messages the two connections both received name this node once, with the first time
    assert all(list(m["receivers"]) == ["node-a"] for m in messages)


async def test_a_dropped_connection_comes_back_after_a_back_off(
    tmp_path: Path, server: ChatServer, clock: ScaledClock
) -> None:
    archiver = start_archiver(tmp_path, server, "node-a", clock)
    await archiver.wait_joined()
    chan = channel_of(archiver)
    server.disconnect(chan.nick, refuse_for=20.0)
    await wait_until(lambda: server.connections_opened >= 3)  # refused once at least, then back
    await wait_until(lambda: len(chan.links) == 1 and chan.links[0].joined.is_set())
    before = len(server.sent["alpha"])
    await wait_until(lambda: len(server.sent["alpha"]) > before + 50)
    await finish(server, [archiver])
    _, messages = archive(tmp_path)
    found = counts(messages)
    assert all(found[k] == 1 for k in server.sent["alpha"][before:])


async def test_bad_lines_and_a_burst_the_archiver_stays_up_and_keeps_everything(
    tmp_path: Path, server: ChatServer, clock: ScaledClock, caplog: pytest.LogCaptureFixture
) -> None:
    archiver = start_archiver(tmp_path, server, "node-a", clock)
    await archiver.wait_joined()
    caplog.set_level(logging.WARNING, logger="streamvault.chat")
    for _ in range(3):
        server.inject("alpha", b"@just-tags\r\n:only-a-prefix\r\n\r\n")
        server.inject("alpha", b":bad!bad@bad PRIVMSG #alpha :caf\xe9 \xff\xfe\r\n")
    keys = server.burst("alpha", 100_000)
    await finish(server, [archiver])

    _, messages = archive(tmp_path)
    found = counts(messages)
    assert all(found[k] >= 1 for k in keys)
    invalid = [m for m in messages if m["sender"] == "bad"]
    assert len(invalid) == 3
    assert invalid[0]["params"][-1].encode("utf-8", "surrogateescape") == b"caf\xe9 \xff\xfe"
    problems = [r.getMessage() for r in caplog.records if "problem" in r.getMessage()]
    assert len(problems) == 2, problems  # one line per kind: malformed, invalid UTF-8
    assert any("malformed" in p for p in problems) and any("invalid_utf8" in p for p in problems)


async def test_batches_are_written_once_their_minute_and_the_lag_have_passed(
    tmp_path: Path, server: ChatServer, clock: ScaledClock
) -> None:
    archiver = start_archiver(tmp_path, server, "node-a", clock)
    await archiver.wait_joined()
    store = ChatStore(str(tmp_path))
    await wait_until(lambda: bool(store.batch_files("alpha", store.hours("alpha"))), timeout=120)
    written_at = clock.now().timestamp()
    files = store.batch_files("alpha", store.hours("alpha"))
    assert len(files) == 1
    [start] = files
    assert written_at >= start + 120  # a minute of messages plus 60 s of allowed lag
    assert written_at < start + 130
    await archiver.stop()


async def test_a_stop_during_a_batch_write_waits_for_it_and_loses_nothing(
    tmp_path: Path, server: ChatServer, clock: ScaledClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    archiver = start_archiver(tmp_path, server, "node-a", clock)
    await archiver.wait_joined()
    chan = channel_of(archiver)
    entered, release = threading.Event(), threading.Event()
    real_write = chan.store.write

    def slow_first_write(channel: str, messages: list[Any]) -> Any:
        if not entered.is_set():
            entered.set()
            release.wait(60)
        return real_write(channel, messages)

    monkeypatch.setattr(chan.store, "write", slow_first_write)
    # the first minute's batch is written 2 sim minutes in (6 s at this scale)
    assert await asyncio.to_thread(entered.wait, 120)
    server.paused = True
    marker = server.burst("alpha", 1)[-1]
    await wait_until(lambda: chan.last_id == marker)

    stopping = asyncio.create_task(archiver.stop())
    done, _ = await asyncio.wait({stopping}, timeout=1.0)
    assert not done, "stop returned while a batch write was still under way"
    release.set()
    await stopping

    found = counts(archive(tmp_path)[1])
    assert [k for k in server.sent["alpha"] if found[k] < 1] == []
