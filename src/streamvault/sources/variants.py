"""Choosing a variant of a master playlist by quality name (SPEC §6.2). Pure.

Two Twitch styles exist. Older: each variant has an ``EXT-X-MEDIA TYPE=VIDEO`` rendition whose
``NAME`` names it and the original is in ``GROUP-ID="chunked"``. Newer (usher v2): ``IVS-NAME``,
``STABLE-VARIANT-ID``, ``IVS-GROUPS`` (landscape/portrait, names repeat across groups), listed
best first. ``source`` is the original (older) or the first landscape variant (newer); other
names match ``NAME``/``IVS-NAME`` exactly (landscape preferred) or a ``STABLE-VARIANT-ID``.
A plain master playlist without names gives ``source`` = highest bandwidth.
"""

from __future__ import annotations

from ..hls.models import MasterPlaylist, Variant

SOURCE = "source"
SOURCE_GROUP = "chunked"


def _groups(variant: Variant) -> list[str]:
    return [g.strip() for g in variant.attributes.get("IVS-GROUPS", "").split(",") if g.strip()]


def _is_ivs(master: MasterPlaylist) -> bool:
    return any("IVS-NAME" in v.attributes for v in master.variants)


def _landscape_first(variants: list[Variant]) -> list[Variant]:
    """Stable sort: variants in the landscape group (or in no group) before the others."""
    return sorted(variants, key=lambda v: 0 if not _groups(v) or "landscape" in _groups(v) else 1)


def _is_video(variant: Variant) -> bool:
    codecs = variant.codecs
    video = ("avc", "hev", "hvc", "av01")
    return not codecs or any(c.strip().startswith(video) for c in codecs.split(","))


def _ivs_choice(master: MasterPlaylist, quality: str) -> Variant | None:
    ordered = _landscape_first(list(master.variants))
    if quality == SOURCE:
        video = [v for v in ordered if _is_video(v)]
        return video[0] if video else None
    named = [v for v in ordered if v.attributes.get("IVS-NAME") == quality]
    if named:
        return named[0]
    stable = [v for v in master.variants if v.attributes.get("STABLE-VARIANT-ID") == quality]
    return stable[0] if stable else None


def _media_choice(master: MasterPlaylist, quality: str) -> Variant | None:
    by_name: list[Variant] = []
    by_group: list[Variant] = []
    for variant in master.variants:
        rendition = master.rendition_for(variant)
        if rendition is None:
            continue
        if quality == SOURCE and rendition.group_id == SOURCE_GROUP:
            return variant
        if rendition.name == quality:
            by_name.append(variant)
        elif rendition.group_id == quality:
            by_group.append(variant)
    if quality == SOURCE:
        # Some years the original was only named, not grouped: "Source" / "1080p60 (source)".
        for variant in master.variants:
            rendition = master.rendition_for(variant)
            if rendition is not None and "source" in rendition.name.lower():
                return variant
        return None
    found = _landscape_first(by_name) or by_group
    return found[0] if found else None


def choose_variant(master: MasterPlaylist, quality: str) -> Variant | None:
    """The variant recording ``quality`` should use, or None when the master lacks it."""
    if _is_ivs(master):
        return _ivs_choice(master, quality)
    if master.renditions:
        return _media_choice(master, quality)
    if quality == SOURCE:
        return max(master.variants, key=lambda v: v.bandwidth)
    return None
