"""Extra directories (SPEC §3, §8): plain files under ``BASE/DIR`` that replicate as they are,
such as the ``emotes`` a wubloader chat archiver saves.

Paths are relative to ``BASE/DIR`` and always use ``/``. :func:`check_extra_path` is the one
check every reader and writer applies: no empty part, no part starting with ``.`` (which also
refuses ``..``), no backslash or NUL, not absolute.
"""

from __future__ import annotations

import os

from ..errors import UnsafePath
from .naming import check_path_part


def check_extra_path(path: str) -> list[str]:
    """The parts of a relative extra path; ``UnsafePath`` when it could escape or hide."""
    if not path or path.startswith("/"):
        raise UnsafePath(f"not a relative path: {path!r}")
    parts = path.split("/")
    for part in parts:
        check_path_part(part, "extra path part")
    return parts


def list_extra_files(base_dir: str, directory: str) -> list[str]:
    """Every regular file under ``BASE/DIRECTORY``, recursively, as sorted relative paths.

    ``[]`` when the directory is missing. Hidden entries (``.``) and symlinks are left out:
    nothing that cannot be served or copied is listed.
    """
    check_path_part(directory, "extras directory")
    root = os.path.join(base_dir, directory)
    found: list[str] = []
    if os.path.islink(root):
        return found  # os.walk would follow the top directory's link; nothing follows links
    for path, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        relative = os.path.relpath(path, root)
        prefix = "" if relative == "." else relative.replace(os.sep, "/") + "/"
        for name in files:
            if name.startswith("."):
                continue
            if os.path.islink(os.path.join(path, name)):
                continue
            found.append(prefix + name)
    return sorted(found)
