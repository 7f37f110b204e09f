"""The ffmpeg filter graph that joins an event's runs with its transitions. Pure: no I/O.

Input ``i`` is one run of segments (ffmpeg's concat demuxer); it is trimmed to the wanted
part and its timestamps start at zero. Consecutive inputs are joined by ``concat`` (a plain
cut) or by ``xfade``/``acrossfade`` lasting the transition's duration, which overlaps the two
and so shortens the output by that duration.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Join:
    """How input ``i`` follows input ``i - 1``: ``None`` type for a cut."""

    type: str | None
    duration: float = 0.0


@dataclass(frozen=True, slots=True)
class Input:
    offset: float  # seconds trimmed off the start of the run's first segment
    duration: float  # seconds wanted


@dataclass(frozen=True, slots=True)
class Graph:
    filter: str
    maps: tuple[str, ...]
    duration: float  # of the output


def _s(value: float) -> str:
    return f"{value:.6f}"


def build_graph(inputs: Sequence[Input], joins: Sequence[Join], audio: bool) -> Graph:
    """``joins[i]`` joins ``inputs[i + 1]`` to what comes before it."""
    if not inputs or len(joins) != len(inputs) - 1:
        raise ValueError("one join between each two inputs")
    parts = []
    for index, item in enumerate(inputs):
        trim = f"start={_s(item.offset)}:duration={_s(item.duration)}"
        parts.append(f"[{index}:v]trim={trim},setpts=PTS-STARTPTS,settb=AVTB[v{index}]")
        if audio:
            parts.append(f"[{index}:a]atrim={trim},asetpts=PTS-STARTPTS[a{index}]")
    video, sound, length = "v0", "a0", inputs[0].duration
    for index, join in enumerate(joins, start=1):
        out_v, out_a = f"jv{index}", f"ja{index}"
        if join.type is None:
            if audio:
                parts.append(
                    f"[{video}][{sound}][v{index}][a{index}]concat=n=2:v=1:a=1[{out_v}][{out_a}]"
                )
            else:
                parts.append(f"[{video}][v{index}]concat=n=2:v=1:a=0[{out_v}]")
            length += inputs[index].duration
        else:
            offset = length - join.duration
            parts.append(
                f"[{video}][v{index}]xfade=transition={join.type}:duration={_s(join.duration)}"
                f":offset={_s(offset)}[{out_v}]"
            )
            if audio:
                parts.append(f"[{sound}][a{index}]acrossfade=d={_s(join.duration)}[{out_a}]")
            length += inputs[index].duration - join.duration
        video, sound = out_v, out_a
    maps = ("-map", f"[{video}]", *(("-map", f"[{sound}]") if audio else ()))
    return Graph(";".join(parts), maps, length)
