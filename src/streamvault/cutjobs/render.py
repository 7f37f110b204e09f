"""An event's video (SPEC §7 and §12): its ranges planned on the local store and cut.

Ranges joined by plain cuts go through :func:`streamvault.cutter.run.cut` exactly as
``/cut`` does. An ``xfade`` transition needs the frames of both sides at once, so an event
with one is re-encoded in a single ffmpeg pass (:mod:`.xfade`), in MPEG-TS for the ``rough``,
``fast``, ``smart`` and ``mpegts`` types and in the container of ``mp4`` and ``webm``.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..cutter.plan import EXTENSIONS, CutPlan, CutType, Run
from ..cutter.run import FULL_OUTPUT, cut, ffmpeg_stream, write_concat_list
from ..errors import CutRefused, NotAcceptable, NotFound
from ..mpegts import inspect
from ..restreamer.archive import Archive
from ..restreamer.cuts import check_plan, plan_for
from ..timeutil import parse_time
from .xfade import Input, Join, build_graph


@dataclass(frozen=True, slots=True)
class EventCut:
    """What an event asks to be cut."""

    id: int
    channel: str
    quality: str
    ranges: tuple[tuple[datetime, datetime], ...]
    joins: tuple[Join, ...]  # joins[i] joins range i + 1 to range i
    type: CutType
    allow_holes: bool

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> EventCut:
        ranges = tuple((parse_time(r["start"]), parse_time(r["end"])) for r in event["ranges"])
        joins = tuple(
            Join(None)
            if r["transition"] is None
            else Join(r["transition"]["type"], float(r["transition"]["duration"]))
            for r in event["ranges"][:-1]
        )
        return cls(
            int(event["id"]),
            event["channel"],
            event["quality"],
            ranges,
            joins,
            event["cut_type"],
            bool(event["allow_holes"]),
        )

    @property
    def has_transitions(self) -> bool:
        return any(join.type is not None for join in self.joins)

    @property
    def extension(self) -> str:
        return EXTENSIONS.get(self.type, "ts")


def plan_ranges(archive: Archive, job: EventCut) -> list[CutPlan]:
    """One plan per range, checked for holes; raises CutRefused with the reason."""
    try:
        plans = [plan_for(archive, job.channel, job.quality, [r]) for r in job.ranges]
        check_plan(_joined(plans), job.allow_holes)
    except (NotAcceptable, NotFound) as err:
        raise CutRefused(str(err)) from None
    return plans


def _joined(plans: Sequence[CutPlan]) -> CutPlan:
    return CutPlan(
        tuple(run for plan in plans for run in plan.runs),
        tuple(hole for plan in plans for hole in plan.holes),
    )


def expected_bytes(plans: Sequence[CutPlan], archive: Archive) -> int:
    """About how large the output is: the bytes of the segments it is cut from."""
    return sum(archive.size_of(s) for plan in plans for s in plan.segments) or 1


def _inputs(plans: Sequence[CutPlan], job: EventCut) -> tuple[list[Run], list[Join]]:
    runs: list[Run] = []
    joins: list[Join] = []
    for index, plan in enumerate(plans):
        for number, run in enumerate(plan.runs):
            if runs:
                first = number == 0 and index > 0
                joins.append(job.joins[index - 1] if first else Join(None))
            runs.append(run)
    return runs, joins


async def transitions(
    plans: Sequence[CutPlan], job: EventCut, archive: Archive
) -> AsyncGenerator[bytes, None]:
    """Every run decoded, trimmed, joined with its transitions and encoded in one pass."""
    runs, joins = _inputs(plans, job)
    workdir = tempfile.mkdtemp(prefix="streamvault-event-")
    try:
        head = await asyncio.to_thread(_head, archive.segment_path(runs[0].segments[0]))
        graph = build_graph(
            [Input(run.offset, run.duration) for run in runs], joins, inspect(head).has_audio
        )
        inputs: list[str] = []
        for index, run in enumerate(runs):
            listing = os.path.join(workdir, f"run{index}.txt")
            write_concat_list(listing, [archive.segment_path(s) for s in run.segments])
            inputs += ["-f", "concat", "-safe", "0", "-i", listing]
        output = FULL_OUTPUT[job.type if job.type in ("mp4", "webm") else "mpegts"]
        args = [*inputs, "-filter_complex", graph.filter, *graph.maps, *output, "pipe:1"]
        async with aclosing(ffmpeg_stream(args)) as chunks:
            async for chunk in chunks:
                yield chunk
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _head(path: str) -> bytes:
    with open(path, "rb") as file:
        return file.read(64 * 1024)


def render(
    plans: Sequence[CutPlan], job: EventCut, archive: Archive
) -> AsyncGenerator[bytes, None]:
    """The event's video as it is produced."""
    if job.has_transitions:
        return transitions(plans, job, archive)
    return cut(_joined(plans), job.type, archive.segment_path)
