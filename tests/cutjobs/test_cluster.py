"""``streamvault cutter`` processes against real servers: three cutters sharing one PostgreSQL
database (one killed mid-render), and a cutter writing to an S3-compatible server (moto)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from streamvault.events.schema import events
from streamvault.events.store import EventStore

from ..dbfixtures import fresh_database
from ..helpers import Child
from ..pgserver import PostgresServer
from .conftest import duration, edited_event

pytestmark = pytest.mark.slow

EVENTS = 30
LEASE = 3.0


def start_cutter(
    base: Path, url: str, output: str, name: str, *extra: str
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "streamvault", "cutter", "--base-dir", str(base),
         "--database-url", url, "--output", output, "--lease", str(LEASE), "--poll", "0.2",
         "--name", name, "--log-level", "WARNING", *extra],
        start_new_session=True,  # its ffmpeg children are in its process group
    )  # fmt: skip


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


async def wait_for(condition: Any, timeout: float, what: str) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while not (result := await condition()):
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)  # polling the database for a condition
    return result


@pytest.fixture
async def pg_store(postgres: PostgresServer) -> AsyncIterator[EventStore]:
    store = await EventStore.connect(fresh_database(postgres))
    yield store
    await store.close()


async def claim_of(store: EventStore, prefix: str) -> int | None:
    """The id of an event a cutter named ``prefix`` holds now."""
    query = select(events.c.id).where(
        events.c.state == "CLAIMED", events.c.claimed_by.startswith(prefix + "-")
    )
    async with store.engine.connect() as conn:
        return (await conn.execute(query)).scalar()


async def kill_mid_render(store: EventStore, victim: subprocess.Popen[bytes]) -> int:
    """SIGKILL the victim while it holds a claim it has not finished; returns that event."""
    for _ in range(EVENTS):
        event_id = await wait_for(lambda: claim_of(store, "c0"), 120, "c0 to claim an event")
        os.killpg(victim.pid, signal.SIGSTOP)  # frozen: its claim cannot change under us
        if await claim_of(store, "c0") == event_id:
            os.killpg(victim.pid, signal.SIGKILL)
            victim.wait()
            return int(event_id)
        os.killpg(victim.pid, signal.SIGCONT)  # it finished just then; catch the next one
    raise AssertionError("never caught c0 mid-render")


async def test_three_cutters_one_database_each_event_rendered_once(
    pg_store: EventStore, store_dir: Path, tmp_path: Path
) -> None:
    url = pg_store.engine.url.render_as_string(hide_password=False).replace("+asyncpg", "")
    created = []
    for n in range(EVENTS):
        start = 0.5 + 2 * (n % 15) + 0.1 * (n // 15)
        created.append(await pg_store.create(edited_event((start, start + 3.0)), "ed"))
    out = tmp_path / "cuts"
    cutters = [start_cutter(store_dir, url, str(out), f"c{n}") for n in range(3)]
    try:
        killed = await kill_mid_render(pg_store, cutters[0])

        async def all_done() -> bool:
            return (await pg_store.counts())["DONE"] == EVENTS

        await wait_for(all_done, 600, "every event to be DONE")
    finally:
        for process in cutters:
            stop(process)
    finals = sorted(name for name in os.listdir(out) if not name.startswith("."))
    assert len(finals) == EVENTS
    for event in created:
        history = await pg_store.history(event["id"])
        done = [h for h in history if h["action"] == "done"]
        assert len(done) == 1, history  # rendered and recorded exactly once
        stored = (await pg_store.get(event["id"]))["output"]
        assert os.path.basename(stored["location"]) in finals
        assert abs(duration(stored["location"]) - 3.0) < 0.1
    history = await pg_store.history(killed)
    actions = [(h["action"], h["who"].split("-")[0]) for h in history]
    assert ("claim", "c0") in actions or ("reclaim", "c0") in actions
    assert actions[-1][0] == "done" and actions[-1][1] != "c0"  # finished by another cutter
    assert "reclaim" in [action for action, _ in actions]


MOTO_PORT = rb"Running on http://127\.0\.0\.1:(\d+)"


@contextlib.asynccontextmanager
async def moto_server() -> AsyncIterator[str]:
    """moto's S3-compatible server on the port it chose on 127.0.0.1; yields its URL."""
    moto = os.path.join(os.path.dirname(sys.executable), "moto_server")
    child = await Child.spawn([moto, "-H", "127.0.0.1", "-p", "0"])
    try:
        yield f"http://127.0.0.1:{await child.port(MOTO_PORT)}"
    finally:
        await child.stop()


async def wait_http(url: str) -> None:
    async def up() -> bool:
        try:
            async with aiohttp.ClientSession() as http, http.get(url) as response:
                return response.status < 500
        except aiohttp.ClientError:
            return False

    await wait_for(up, 60, f"{url} to answer")


S3_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


async def test_cutter_once_writes_to_s3_compatible_storage(
    store_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    for name, value in S3_ENV.items():
        monkeypatch.setenv(name, value)
    url = f"sqlite:///{tmp_path}/events.sqlite3"
    store = await EventStore.connect(url)
    try:
        good = await store.create(edited_event((4.2, 9.9)), "ed")
        bad = await store.create(edited_event((3000.0, 3005.0)), "ed")
        async with moto_server() as endpoint:
            await wait_http(endpoint)
            s3 = boto3.session.Session().client("s3", endpoint_url=endpoint)
            s3.create_bucket(Bucket="videos")
            cutter = start_cutter(
                store_dir, url, "s3://videos/desertbus/2026", "s3", "--once",
                "--s3-endpoint-url", endpoint,
            )  # fmt: skip
            code = await asyncio.to_thread(cutter.wait, 300)
            assert code == 1  # --once: one event failed
            done = await store.get(good["id"])
            assert done["state"] == "DONE", done["error"]
            location = done["output"]["location"]
            assert location.startswith("s3://videos/desertbus/2026/")
            key = location.removeprefix("s3://videos/")
            body = s3.get_object(Bucket="videos", Key=key)["Body"].read()
            listed = s3.list_objects_v2(Bucket="videos")["Contents"]
        assert [item["Key"] for item in listed] == [key]  # the failed event stored nothing
        assert len(body) == done["output"]["size"]
        assert hashlib.sha256(body).hexdigest() == done["output"]["sha256"]
        local = tmp_path / "downloaded.ts"
        local.write_bytes(body)
        assert abs(duration(str(local)) - 5.7) < 0.1
        failed = await store.get(bad["id"])
        assert failed["state"] == "FAILED" and "no video" in failed["error"]
    finally:
        await store.close()
