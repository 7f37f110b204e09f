"""Versioned URLs for the editor's own files, so that a browser keeps them (SPEC §13).

The editor runs from its files as they are, with no build step. Served as they are, though,
every load of the page revalidates each of its modules and its stylesheet (a dozen round
trips, answered 304, before the first script can run). So when the node serves
``index.html`` it names each script and the stylesheet with ``?v=`` and the start of the
file's SHA-256, and adds an import map sending the modules' imports of one another
(``./api.js``) to the same versioned URLs. A versioned URL is cached for good: a changed file
gets a new one, and a page gets new URLs with its next (revalidated) ``index.html``.

Pure but for reading the files; :class:`EditorAssets` keeps the result while no file's size
or modification time changes.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

#: the files that get versioned URLs, relative to the editor's directory
PATTERNS = ("editor.css", "js/*.js")
INDEX = "index.html"
VERSION_LENGTH = 16


def file_version(data: bytes) -> str:
    digest = hashlib.sha256(data).digest()
    return base64.urlsafe_b64encode(digest).decode()[:VERSION_LENGTH]


def versioned_index(html: str, versions: dict[str, str]) -> str:
    """``html`` with each ``src``/``href`` naming a versioned file carrying its ``?v=``, and
    an import map for the modules before the first module script."""

    def url(name: str) -> str:
        return f"{name}?v={versions[name]}"

    def replace(match: re.Match[str]) -> str:
        name = match[2]
        return f'{match[1]}="{url(name)}"' if name in versions else match[0]

    html = re.sub(r'\b(src|href)="([^"?#]+)"', replace, html)
    modules = {f"./{name}": f"./{url(name)}" for name in sorted(versions) if name.endswith(".js")}
    imports = json.dumps({"imports": modules}, indent=1).replace("</", "<\\/")
    tag = f'<script type="importmap">\n{imports}\n</script>\n'
    at = html.find('<script type="module"')
    return html if at < 0 or not modules else html[:at] + tag + html[at:]


@dataclass(frozen=True, slots=True)
class Assets:
    versions: dict[str, str]  # file (relative, e.g. js/main.js) -> version
    index: bytes  # index.html with versioned URLs
    etag: str


def _stamp(paths: list[Path]) -> tuple[tuple[str, int, int], ...]:
    stamps = []
    for path in paths:
        status = os.stat(path)
        stamps.append((str(path), status.st_size, status.st_mtime_ns))
    return tuple(stamps)


class EditorAssets:
    """The versions of the editor's files and its index page, recomputed when a file changes."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._stamp: tuple[tuple[str, int, int], ...] | None = None
        self._assets: Assets | None = None

    def _files(self) -> list[Path]:
        found = {path for pattern in PATTERNS for path in self.root.glob(pattern)}
        return sorted(path for path in found if path.is_file())

    def get(self) -> Assets:
        files = self._files()
        stamp = _stamp([*files, self.root / INDEX])
        if self._assets is None or stamp != self._stamp:
            versions = {
                path.relative_to(self.root).as_posix(): file_version(path.read_bytes())
                for path in files
            }
            html = (self.root / INDEX).read_text(encoding="utf-8")
            index = versioned_index(html, versions).encode()
            self._assets = Assets(versions, index, f'"{file_version(index)}"')
            self._stamp = stamp
        return self._assets
