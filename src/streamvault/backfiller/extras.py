"""Copying extra directories (``--extras DIR,...``, SPEC §8): plain files such as ``emotes``.

Each pass asks every peer for ``/extras/DIR`` and copies the files this node lacks from
``/segments/DIR/PATH``, each written to a hidden temp name and renamed (there is no hash to
check: the names carry none). Paths that could leave the directory or hide in it are refused,
logged once and counted (:func:`~.plan.plan_extras`). A peer that has no such route (404)
has no extras; one that fails is backed off like any other failure.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import HTTPStatusError, RemoteError, StoreError
from ..store.disk import SegmentStore, TempFile
from ..store.extras import list_extra_files
from .copy import Copier, open_temp
from .peers import Peer
from .plan import plan_extras

log = logging.getLogger(__name__)


@dataclass(slots=True)
class ExtrasResult:
    copied: int = 0
    failed: int = 0
    refused: int = 0


class ExtrasCopier:
    """One pass over the extra directories, sharing the copier's per-peer bounds and back-off."""

    def __init__(self, store: SegmentStore, copier: Copier, directories: Sequence[str]) -> None:
        self.store = store
        self.copier = copier
        self.directories = tuple(directories)

    async def run_pass(self, peers: Sequence[Peer]) -> ExtrasResult:
        result = ExtrasResult()
        for directory in self.directories:
            await self._copy_directory(directory, peers, result)
        if result.copied or result.failed:
            log.info(
                "extras: %d files copied, %d failed, %d paths refused",
                result.copied, result.failed, result.refused,
            )  # fmt: skip
        return result

    async def _copy_directory(
        self, directory: str, peers: Sequence[Peer], result: ExtrasResult
    ) -> None:
        local = set(await asyncio.to_thread(list_extra_files, self.store.base_dir, directory))
        answers = await asyncio.gather(
            *(self.copier.client(p).list_extras(directory) for p in peers),
            return_exceptions=True,
        )
        holders: dict[str, list[Peer]] = {}
        for peer, answer in zip(peers, answers, strict=True):
            if isinstance(answer, BaseException):
                if not isinstance(answer, RemoteError):
                    raise answer
                self.copier.peer_failed(peer, answer, "extras")
                continue
            fetch, refused = plan_extras(local, answer)
            self.copier.progress.unusable(peer, "", "extras", directory, refused)
            result.refused += len(refused)
            for path in fetch:
                holders.setdefault(path, []).append(peer)
        queue = list(holders.items())

        async def worker() -> None:
            while queue:
                path, candidates = queue.pop()
                ok = await self._copy_file(directory, path, candidates)
                result.copied += ok
                result.failed += not ok

        # bounded: as many workers as the peers have copy slots, not one task per file
        count = min(len(queue), self.copier.per_peer * max(1, len(peers)))
        await asyncio.gather(*(worker() for _ in range(count)))

    async def _copy_file(self, directory: str, path: str, candidates: list[Peer]) -> bool:
        for peer in candidates:
            if not self.copier.available(peer):
                continue
            state = self.copier.state(peer)
            async with state.slots:
                try:
                    await self._fetch(directory, path, peer)
                except HTTPStatusError as err:
                    if err.status >= 500:
                        self.copier.peer_failed(peer, err, "extra_file")
                    else:  # removed since it was listed: another peer may have it
                        log.info("peer %s: %s", peer.name, err)
                    continue
                except RemoteError as err:
                    self.copier.peer_failed(peer, err, "extra_file")
                    continue
                except StoreError as err:
                    log.error("could not store extra file %s/%s: %s", directory, path, err)
                    return False
            log.debug("copied extra file %s/%s from %s", directory, path, peer.name)
            return True
        log.warning("could not copy extra file %s/%s from any peer this pass", directory, path)
        return False

    async def _fetch(self, directory: str, path: str, peer: Peer) -> None:
        parts = path.split("/")
        folder = os.path.join(self.store.base_dir, directory, *parts[:-1])
        temp = await open_temp(lambda: TempFile(folder, f".{parts[-1]}.{uuid.uuid4().hex}.tmp"))
        committed = False
        try:
            await self.copier.client(peer).fetch_extra_into(directory, path, temp)
            await asyncio.to_thread(temp.commit, parts[-1])
            committed = True
        finally:
            if not committed:
                temp.discard()
