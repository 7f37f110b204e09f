"""Two nodes archive the same channel; one is cut off for 3 minutes (sim time). Once each holds
the other's batches and both have merged, their archives are byte-identical, every message the
sim sent is in them exactly once, and each message's receivers are the nodes that got it."""

from __future__ import annotations

import shutil
from pathlib import Path

import aiohttp

from streamvault.chat.archiver import ChatArchiver
from streamvault.chat.store import ChatStore
from streamvault.clock import ScaledClock
from streamvault.node.config import NodeConfig
from streamvault.node.runtime import Node
from streamvault.sim.chat_server import ChatServer

from .chathelp import archive, channel_of, counts, finish, key_of, start_archiver, wait_until

OUTAGE = 180.0  # sim seconds


async def record_with_an_outage(
    server: ChatServer, clock: ScaledClock, a: ChatArchiver, b: ChatArchiver
) -> dict[str, str]:
    """Let nodes a and b record; cut b off for OUTAGE sim seconds mid-way; write every batch.
    Returns nick -> node name."""
    archivers = [a, b]
    for archiver in archivers:
        await archiver.wait_joined()
    await wait_until(lambda: len(server.sent["alpha"]) > 200)  # about 40 s
    b_chan = channel_of(b)
    server.disconnect(b_chan.nick, refuse_for=OUTAGE, abrupt=False)
    cut_off = clock.monotonic()
    await wait_until(lambda: clock.monotonic() > cut_off + OUTAGE and bool(b_chan.links)
                     and b_chan.links[-1].joined.is_set(), timeout=120)  # fmt: skip
    back = len(server.sent["alpha"])
    await wait_until(lambda: len(server.sent["alpha"]) > back + 200)
    await finish(server, archivers)
    return {channel_of(x).nick: channel_of(x).settings.node_name for x in archivers}


def check_archive(server: ChatServer, base: Path, nodes: dict[str, str]) -> None:
    _, messages = archive(base)
    found = counts(messages)
    sent = server.sent["alpha"]
    assert {k: found[k] for k in sent if found[k] != 1} == {}
    assert set(found) == set(sent)
    for message in messages:
        delivered = server.delivered.get(key_of(message))
        if delivered is not None:  # scripted events (the end marker is a burst)
            assert set(message["receivers"]) == {nodes[n] for n in delivered}, message


async def test_after_exchanging_batches_and_merging_both_nodes_hold_the_same_archive(
    tmp_path: Path, server: ChatServer, clock: ScaledClock
) -> None:
    a_dir, b_dir = tmp_path / "a", tmp_path / "b"
    kw = {"backoff_min": 5.0, "backoff_max": 20.0}
    a = start_archiver(a_dir, server, "node-a", clock, **kw)
    b = start_archiver(b_dir, server, "node-b", clock, **kw)
    nodes = await record_with_an_outage(server, clock, a, b)
    missed = [k for k, nicks in server.delivered.items() if len(nicks) == 1]
    assert len(missed) > OUTAGE * 5 * 0.8  # b really missed about 3 minutes of chat
    # what the backfiller does (SPEC §8 chat; the test below goes through it): copy the
    # batch files a node lacks
    a_files, _ = archive(a_dir)
    b_files, _ = archive(b_dir)
    for name in a_files.keys() - b_files.keys():
        (b_dir / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(a_dir / name, b_dir / name)
    for name in b_files.keys() - a_files.keys():
        (a_dir / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(b_dir / name, a_dir / name)
    for base in (a_dir, b_dir):
        ChatStore(str(base)).merge_duplicates("alpha")
    merged_a, _ = archive(a_dir)
    merged_b, _ = archive(b_dir)
    assert merged_a == merged_b  # the same names, the same bytes
    starts = [name.rsplit("/", 1)[-1].split("-")[0] + name.split("/")[2] for name in merged_a]
    assert len(starts) == len(set(starts))  # one file per batch minute
    check_archive(server, a_dir, nodes)


async def test_two_nodes_converge_through_the_backfiller(
    tmp_path: Path, server: ChatServer, clock: ScaledClock
) -> None:
    # Each node binds port 0; once both listen, the node file they re-read every pass names
    # both (each leaves itself out), so neither port is guessed before it is bound.
    node_file = tmp_path / "nodes.txt"
    node_file.write_text("")

    def config(name: str) -> NodeConfig:
        return NodeConfig(
            base_dir=str(tmp_path / name), channels=["alpha"],
            host="127.0.0.1", port=0, node_file=str(node_file),
            downloader=False, coverage=False, backfill_interval=2.0,
            chat=True, irc_host="127.0.0.1", irc_port=server.port, irc_tls=False,
            node_name=name, chat_merge_interval=5.0,
        )  # fmt: skip

    async with (
        Node(config("node-a"), clock=clock) as a,
        Node(config("node-b"), clock=clock) as b,
    ):
        (tmp_path / "nodes.new").write_text(f"{a.url}\n{b.url}\n")
        (tmp_path / "nodes.new").replace(node_file)  # at once: a pass never reads half of it
        assert a.chat is not None and b.chat is not None
        nodes = await record_with_an_outage(server, clock, a.chat, b.chat)
        a.chat = b.chat = None
        # node a serves its batches as wubloader's restreamer does (listing, then the file)
        a_files, _ = archive(tmp_path / "node-a")
        some = sorted(a_files)[0].split("/")  # alpha/chat/HOUR/NAME
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{a.url}/files/alpha/chat/{some[2]}") as response:
                assert some[3] in await response.json()
            async with session.get(f"{a.url}/segments/{'/'.join(some)}") as response:
                assert response.status == 200

        def converged() -> bool:
            for node in ("node-a", "node-b"):
                ChatStore(str(tmp_path / node)).merge_duplicates("alpha")
            return archive(tmp_path / "node-a")[0] == archive(tmp_path / "node-b")[0]

        await wait_until(converged, timeout=60)
        check_archive(server, tmp_path / "node-b", nodes)
