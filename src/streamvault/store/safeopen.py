"""Opening files under the store's base directory without ever following a symlink.

Every part below the base directory is opened relative to its parent's descriptor with
``O_NOFOLLOW`` (``openat(2)``), so the check is made by the kernel at the moment of opening:
there is no earlier decision ("this directory is safe") that a swap of a directory for a
symlink could race. The base directory itself is the operator's choice and may be a symlink.

Errors are ``OSError``: ``ELOOP`` for a symlink, ``ENOTDIR`` where a directory was expected,
``ENOENT``, ``EACCES``; :func:`is_refused` tells the ones that mean "not served here".
"""

from __future__ import annotations

import errno
import os
from collections.abc import Sequence

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | getattr(os, "O_NONBLOCK", 0)

#: errnos that mean the path holds nothing this store serves (missing, a symlink, a file
#: where a directory belongs, unreadable, a name too long for the file system).
REFUSED = frozenset(
    (errno.ENOENT, errno.ELOOP, errno.ENOTDIR, errno.EACCES, errno.EPERM, errno.ENAMETOOLONG)
)


def is_refused(err: OSError) -> bool:
    return err.errno in REFUSED


def open_dir(base_dir: str, parts: Sequence[str]) -> int:
    """A descriptor of the directory ``base_dir/parts...``, no part of it a symlink."""
    fd = os.open(base_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in parts:
            child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_file(base_dir: str, parts: Sequence[str]) -> int:
    """A read-only descriptor of the file ``base_dir/parts...``, no part of it a symlink.

    Opened non-blocking, so a FIFO planted in the store cannot hang the caller; the caller
    checks with ``fstat`` that it is a regular file.
    """
    directory = open_dir(base_dir, parts[:-1])
    try:
        return os.open(parts[-1], _FILE_FLAGS, dir_fd=directory)
    finally:
        os.close(directory)


def is_real_dir(base_dir: str, parts: Sequence[str]) -> bool:
    """True when ``base_dir/parts...`` is a directory reached through no symlink."""
    try:
        os.close(open_dir(base_dir, parts))
    except OSError:
        return False
    return True
