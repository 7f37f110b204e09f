"""The bytes the simulated channels serve: the video loops rendered once per quality (MPEG-TS,
and fMP4 where a channel asks for it), segments built from them in a bounded LRU cache, and
the hashes a recorder should store."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from pathlib import Path

from ..store.naming import hash_bytes
from .config import SimConfig, quality_info
from .fmp4 import Fmp4Loop, build_fragment, render_fmp4_loop
from .video import Loop, LoopSpec, build_segment, render_loop

BYTES_CACHE_LIMIT = 256 * 1024 * 1024


class Footage:
    """Segment ``sequence`` of (channel, quality) depends only on those three; ``prepare``
    renders (or loads from the cache directory) the loops first."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self._loops: dict[tuple[int, int], Loop] = {}
        self._fmp4_loops: dict[tuple[int, int], Fmp4Loop] = {}
        self._bytes: OrderedDict[tuple[str, str, int], bytes] = OrderedDict()
        self._bytes_size = 0
        self._hashes: dict[tuple[str, str, int], str] = {}

    async def prepare(self) -> None:
        """Render (or load from the cache) the video of every configured quality."""
        channels = self.config.channels
        specs = {self.loop_spec(q) for c in channels for q in c.qualities}
        cache = Path(self.config.cache_dir) if self.config.cache_dir else None
        missing = [spec for spec in specs if (spec.width, spec.height) not in self._loops]
        loops = await asyncio.gather(*(render_loop(spec, cache) for spec in missing))
        for loop in loops:
            self._loops[(loop.spec.width, loop.spec.height)] = loop
        fmp4 = {self.loop_spec(q) for c in channels if c.fmp4 for q in c.qualities}
        missing = [spec for spec in fmp4 if (spec.width, spec.height) not in self._fmp4_loops]
        for fragments in await asyncio.gather(*(render_fmp4_loop(s, cache) for s in missing)):
            self._fmp4_loops[(fragments.spec.width, fragments.spec.height)] = fragments

    def loop_spec(self, quality: str) -> LoopSpec:
        info = quality_info(quality)
        return LoopSpec(
            info.render_width,
            info.render_height,
            self.config.fps,
            self.config.segment_duration,
            self.config.loop_segments,
        )

    def segment(
        self, channel: str, quality: str, sequence: int, *, fmp4: bool, keep: bool = True
    ) -> bytes:
        """Cached bytes, or new ones (put in the LRU cache when ``keep``)."""
        key = (channel, quality, sequence)
        cached = self._bytes.get(key)
        if cached is not None:
            self._bytes.move_to_end(key)
            return cached
        if fmp4:
            data = build_fragment(self.fmp4_loop(quality), channel, quality, sequence)
        else:
            target = 0
            if self.config.realistic_bitrate:
                target = int(quality_info(quality).bandwidth * self.config.segment_duration / 8)
            data = build_segment(self.ts_loop(quality), channel, quality, sequence, target)
        if not keep:
            return data
        self._bytes[key] = data
        self._bytes_size += len(data)
        while self._bytes_size > BYTES_CACHE_LIMIT and len(self._bytes) > 1:
            _, old = self._bytes.popitem(last=False)
            self._bytes_size -= len(old)
        return data

    def ts_loop(self, quality: str) -> Loop:
        spec = self.loop_spec(quality)
        loop = self._loops.get((spec.width, spec.height))
        if loop is None:
            raise RuntimeError(f"no video rendered for quality {quality!r}; call prepare()")
        return loop

    def fmp4_loop(self, quality: str) -> Fmp4Loop:
        spec = self.loop_spec(quality)
        loop = self._fmp4_loops.get((spec.width, spec.height))
        if loop is None:
            raise RuntimeError(f"no fMP4 video rendered for quality {quality!r}; call prepare()")
        return loop

    def segment_hash(self, channel: str, quality: str, sequence: int, *, fmp4: bool) -> str:
        """The hash of the segment as a recorder stores it (fMP4: init section first)."""
        key = (channel.lower(), quality, sequence)
        if key not in self._hashes:
            # hashing old segments must not evict the ones being served from the cache
            data = self.segment(channel, quality, sequence, fmp4=fmp4, keep=False)
            init = self.fmp4_loop(quality).init if fmp4 else b""
            self._hashes[key] = hash_bytes(init + data)
        return self._hashes[key]
