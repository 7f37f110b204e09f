"""Simulator configuration values and the quality table. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from .faults import Fault

MasterStyle = Literal["media", "ivs"]
MASTER_STYLES: tuple[str, ...] = ("media", "ivs")


@dataclass(frozen=True, slots=True)
class ChannelConfig:
    """One simulated channel.

    ``qualities`` use the downloader's names: ``source`` is the original, any other name
    (``480p``, ``720p60``) is the variant's NAME / IVS-NAME. ``history`` segments are already
    complete when the simulator starts, so the first live playlist is not empty.
    """

    name: str
    qualities: list[str] = field(default_factory=lambda: ["source"])
    master_style: MasterStyle = "media"
    online: bool = True
    history: int = 0
    #: the original's NAME in the older master style; Twitch has also used "1080p (source)"
    #: and plain "Source" over the years
    source_name: str = "1080p60 (source)"
    #: fragmented MP4 (``#EXT-X-MAP`` init section, as Twitch's HEVC/AV1 variants) instead of
    #: MPEG-TS, for every quality of the channel
    fmp4: bool = False


@dataclass(frozen=True, slots=True)
class SimConfig:
    channels: list[ChannelConfig]
    segment_duration: float = 2.0
    time_scale: float = 1.0
    playlist_url_max_age: float = 20 * 3600.0
    segment_url_max_age: float = 300.0
    window: int = 30
    realistic_bitrate: bool = False
    token_max_age: float = 20 * 3600.0
    loop_segments: int = 30
    fps: int = 30
    cache_dir: str | None = None
    tls: bool = False
    faults: list[Fault] = field(default_factory=list)
    #: the IRC chat server's port (0: any free one); None: no chat server
    chat_port: int | None = None
    chat_rate: float = 5.0  # messages per sim second per channel
    chat_duplicate_every: int = 0  # every Nth message with an id is delivered twice

    def channel(self, name: str) -> ChannelConfig | None:
        for channel in self.channels:
            if channel.name.lower() == name.lower():
                return channel
        return None


_QUALITY_RE = re.compile(r"(\d+)p(\d+)?")


@dataclass(frozen=True, slots=True)
class QualityInfo:
    """What the master playlist says about a quality, and how small the sim renders it."""

    name: str
    height: int
    frame_rate: int
    bandwidth: int

    @property
    def width(self) -> int:
        return _even(self.height * 16 / 9)

    @property
    def render_height(self) -> int:
        return max(36, _even(self.height / 6))

    @property
    def render_width(self) -> int:
        return _even(self.render_height * 16 / 9)

    @property
    def group_id(self) -> str:
        """The older style's GROUP-ID and the newer style's STABLE-VARIANT-ID."""
        return "chunked" if self.name == "source" else f"{self.height}p{self.frame_rate}"

    @property
    def display_name(self) -> str:
        """NAME / IVS-NAME: the configured name, or Twitch's name for the original."""
        return f"{self.height}p{self.frame_rate}" if self.name == "source" else self.name


def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def quality_info(name: str) -> QualityInfo:
    """``source`` is 1080p60 at about 6 Mbps; ``480p`` is 480 lines at 30 fps, and so on."""
    if name == "source":
        return QualityInfo(name, 1080, 60, 6_000_000)
    match = _QUALITY_RE.fullmatch(name.removesuffix("-portrait"))
    height = int(match.group(1)) if match else 480
    frame_rate = int(match.group(2)) if match and match.group(2) else 30
    bandwidth = int(6_000_000 * (height / 1080) ** 1.5 * (1.0 if frame_rate < 50 else 1.3))
    return QualityInfo(name, height, frame_rate, bandwidth)
