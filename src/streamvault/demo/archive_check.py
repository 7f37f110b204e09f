"""Is each node's archive complete and are the nodes identical? Pure over listings."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ..store.naming import Segment


@dataclass(slots=True)
class ArchiveVerdict:
    missing: dict[str, list[str]] = field(default_factory=dict)  # node -> "quality #hash"
    only_on: dict[str, list[str]] = field(default_factory=dict)  # node -> paths others lack

    @property
    def ok(self) -> bool:
        return not any(self.missing.values()) and not any(self.only_on.values())

    def lines(self) -> list[str]:
        out = []
        for node, items in sorted(self.missing.items()):
            if items:
                out.append(f"node {node} lacks {len(items)} broadcast segments: {items[:5]}")
        for node, paths in sorted(self.only_on.items()):
            if paths:
                out.append(f"only node {node} holds {len(paths)} files: {paths[:5]}")
        return out


def check_archives(
    broadcast: Mapping[str, set[str]], holdings: Mapping[str, Iterable[Segment]]
) -> ArchiveVerdict:
    """``broadcast``: quality -> hashes the source published; ``holdings``: node -> segments.

    Complete: every broadcast segment is held as a ``full`` file. Identical: same file names.
    """
    verdict = ArchiveVerdict()
    paths = {node: {s.path for s in segments} for node, segments in holdings.items()}
    fulls = {
        node: {(s.quality, s.hash) for s in segments if s.is_full}
        for node, segments in holdings.items()
    }
    everyone = set.intersection(*paths.values()) if paths else set()
    for node in holdings:
        verdict.missing[node] = sorted(
            f"{quality} #{digest[:8]}"
            for quality, hashes in broadcast.items()
            for digest in hashes
            if (quality, digest) not in fulls[node]
        )
        verdict.only_on[node] = sorted(paths[node] - everyone)
    return verdict
