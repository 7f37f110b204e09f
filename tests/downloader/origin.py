"""A small HLS origin on a real socket, for the downloader's own tests (before and beside the sim).

Segment k of quality q starts at ``origin + k * duration`` and is published once the clock
passes its end. ``faults[k]`` makes a segment misbehave: ``stall`` (headers and some bytes, then
a pause of ``stall_seconds`` clock seconds, then a cleanly closed short body), ``reset`` (half
the body, then the connection is cut), ``empty``, ``404``, ``500``, ``slow_first`` (the first
request never answers; later ones do), ``huge`` (a hundred times its size).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

from aiohttp import web

from streamvault.clock import ScaledClock
from streamvault.store.naming import hash_bytes


class Origin:
    def __init__(self, clock: ScaledClock, duration: float = 2.0, window: int = 10) -> None:
        self.clock = clock
        self.duration = duration
        self.window = window
        self.faults: dict[int, str] = {}
        self.stall_seconds = 61.0
        self.requests: Counter[str] = Counter()
        self.peers: dict[int, list[int]] = {}
        self.playlist_status = 200
        self.endlist = False
        self.init_section: bytes | None = None  # fMP4: an EXT-X-MAP before the segments
        app = web.Application()
        app.router.add_get("/master.m3u8", self.master)
        app.router.add_get("/media/{quality}.m3u8", self.media)
        app.router.add_get("/seg/{quality}/{seq}.ts", self.segment)
        app.router.add_get("/init/{quality}.mp4", self.init)
        self.runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.2)
        self.url = ""

    async def start(self) -> None:
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = self.runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        await self.runner.cleanup()

    def data(self, quality: str, seq: int) -> bytes:
        return (f"{quality}-{seq}-".encode() * 4000)[: 30000 + seq]

    def hash(self, quality: str, seq: int) -> str:
        return hash_bytes(self.data(quality, seq))

    def published(self) -> int:
        """How many segments are complete now."""
        return int(self.clock.monotonic() / self.duration)

    def start_of(self, seq: int):  # type: ignore[no-untyped-def]
        return self.clock.origin + timedelta(seconds=seq * self.duration)

    async def master(self, request: web.Request) -> web.Response:
        self.requests["master"] += 1
        text = (
            "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=100\nmedia/low.m3u8\n"
            "#EXT-X-STREAM-INF:BANDWIDTH=900\nmedia/source.m3u8\n"
        )
        return web.Response(text=text)

    async def media(self, request: web.Request) -> web.Response:
        self.requests["playlist"] += 1
        if self.playlist_status != 200:
            return web.Response(status=self.playlist_status)
        quality = request.match_info["quality"]
        last = self.published()
        first = max(0, last - self.window)
        lines = ["#EXTM3U", "#EXT-X-TARGETDURATION:5", f"#EXT-X-MEDIA-SEQUENCE:{first}"]
        if self.init_section is not None:
            lines.append(f'#EXT-X-MAP:URI="/init/{quality}.mp4"')
        for seq in range(first, last):
            start = self.start_of(seq)
            lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{start:%Y-%m-%dT%H:%M:%S.%f}Z")
            lines += [f"#EXTINF:{self.duration:.3f},live", f"/seg/{quality}/{seq}.ts?sig=x"]
        if self.endlist:
            lines.append("#EXT-X-ENDLIST")
        return web.Response(text="\n".join(lines) + "\n")

    async def init(self, request: web.Request) -> web.Response:
        self.requests["init"] += 1
        return web.Response(body=self.init_section or b"")

    async def segment(self, request: web.Request) -> web.StreamResponse:
        quality, seq = request.match_info["quality"], int(request.match_info["seq"])
        self.requests[f"segment:{seq}"] += 1
        peer = request.transport.get_extra_info("peername") if request.transport else None
        self.peers.setdefault(seq, []).append(peer[1] if peer else 0)
        data = self.data(quality, seq)
        fault = self.faults.get(seq)
        if fault in ("404", "500"):
            return web.Response(status=int(fault))
        if fault == "empty":
            return web.Response(body=b"")
        if fault == "huge":
            return web.Response(body=data * 100)  # 3 MB
        if fault == "slow_first" and self.requests[f"segment:{seq}"] == 1:
            await self.clock.sleep(3600)
        if fault == "stall":
            response = web.StreamResponse()
            await response.prepare(request)
            await response.write(data[:1000])
            await self.clock.sleep(self.stall_seconds)
            await response.write(data[1000:5000])
            await response.write_eof()
            return response
        if fault == "reset":
            response = web.StreamResponse()
            response.content_length = len(data)
            await response.prepare(request)
            await response.write(data[: len(data) // 2])
            await asyncio.sleep(0.01)
            assert request.transport is not None
            request.transport.close()
            return response
        return web.Response(body=data)
