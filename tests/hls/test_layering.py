"""The generic HLS package stands alone: dialects (``sources``) build on it, never the reverse."""

from __future__ import annotations

from tests.test_imports import import_graph

#: what ``streamvault.hls`` may import from streamvault besides itself
ALLOWED = {"streamvault.errors", "streamvault.timeutil"}


def test_hls_imports_nothing_of_sources_or_beyond() -> None:
    graph = import_graph()
    hls = {
        name for name in graph if name == "streamvault.hls" or name.startswith("streamvault.hls.")
    }
    outside = {(name, target) for name in hls for target in graph[name] - hls - ALLOWED}
    assert not outside
    assert any("streamvault.hls.parse" in graph[name] for name in graph if ".sources." in name)
