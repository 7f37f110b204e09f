"""The node's pages: the landing page (rendered by :mod:`.landing`) and the editor's static
files under ``static/`` (plain HTML, CSS and JavaScript modules; hls.js vendored in
``static/editor/vendor/``). The restreamer serves them (:mod:`streamvault.restreamer.pages`)."""

from __future__ import annotations

from pathlib import Path

STATIC_DIR = Path(__file__).parent / "static"
EDITOR_DIR = STATIC_DIR / "editor"
