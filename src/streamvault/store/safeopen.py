"""Opening files under the store's base directory without ever following a symlink.

The kernel checks at the moment of opening, so there is no earlier decision ("this directory
is safe") that a swap of a directory for a symlink could race: on Linux 5.6+ with one
``openat2(2)`` call relative to the base directory with ``RESOLVE_NO_SYMLINKS`` and
``RESOLVE_BENEATH``; elsewhere (or where a seccomp filter refuses ``openat2``) by opening each
part relative to its parent's descriptor with ``O_NOFOLLOW``. Python's ``os`` has no
``openat2``, and no maintained library wraps it, hence the few lines of ``ctypes`` below. The
base directory itself is the operator's choice and may be a symlink.

Errors are ``OSError``: ``ELOOP`` for a symlink, ``ENOTDIR`` where a directory was expected,
``ENOENT``, ``EACCES``; :func:`is_refused` tells the ones that mean "not served here".
"""

from __future__ import annotations

import ctypes
import errno
import os
import sys
from collections.abc import Sequence

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | getattr(os, "O_NONBLOCK", 0)

#: errnos that mean the path holds nothing this store serves (missing, a symlink, a file
#: where a directory belongs, unreadable, a name too long for the file system).
REFUSED = frozenset(
    (
        errno.ENOENT, errno.ELOOP, errno.ENOTDIR, errno.EACCES, errno.EPERM,
        errno.ENAMETOOLONG, errno.EXDEV,
    )
)  # fmt: skip

_SYS_OPENAT2 = 437  # the same number on every Linux architecture (the unified table)
_RESOLVE = 0x02 | 0x04 | 0x08  # RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]


class _Openat2:
    """``openat2(dirfd, path, flags, RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH)``, or None."""

    def __init__(self) -> None:
        self.available = sys.platform.startswith("linux")
        if self.available:
            libc = ctypes.CDLL(None, use_errno=True)
            self._syscall = libc.syscall
            self._syscall.restype = ctypes.c_long
            self._how = {flags: _OpenHow(flags, 0, _RESOLVE) for flags in (_DIR_FLAGS, _FILE_FLAGS)}

    def __call__(self, dirfd: int, path: str, flags: int) -> int | None:
        """A descriptor; None when ``openat2`` cannot be used here (then walk instead)."""
        if not self.available:
            return None
        how = self._how[flags]
        fd = int(self._syscall(_SYS_OPENAT2, dirfd, os.fsencode(path), ctypes.byref(how),
                               ctypes.sizeof(how)))  # fmt: skip
        if fd >= 0:
            return fd
        err = ctypes.get_errno()
        if err == errno.ENOSYS:  # a kernel before 5.6, or a filter that hides the call
            self.available = False
            return None
        if err == errno.EPERM:  # a seccomp filter refusing it (or this path): walk this time
            return None
        raise OSError(err, os.strerror(err), path)


def is_refused(err: OSError) -> bool:
    return err.errno in REFUSED


def _open_beneath(base_dir: str, parts: Sequence[str], flags: int) -> int:
    base = os.open(base_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fd = _openat2(base, "/".join(parts), flags) if parts else None
        if fd is not None:
            return fd
        for part in parts[:-1]:
            child = os.open(part, _DIR_FLAGS, dir_fd=base)
            os.close(base)
            base = child
        return os.open(parts[-1], flags, dir_fd=base) if parts else os.dup(base)
    finally:
        os.close(base)


def open_dir(base_dir: str, parts: Sequence[str]) -> int:
    """A descriptor of the directory ``base_dir/parts...``, no part of it a symlink."""
    return _open_beneath(base_dir, parts, _DIR_FLAGS)


def open_file(base_dir: str, parts: Sequence[str]) -> int:
    """A read-only descriptor of the file ``base_dir/parts...``, no part of it a symlink.

    Opened non-blocking, so a FIFO planted in the store cannot hang the caller; the caller
    checks with ``fstat`` that it is a regular file.
    """
    return _open_beneath(base_dir, parts, _FILE_FLAGS)


def is_real_dir(base_dir: str, parts: Sequence[str]) -> bool:
    """True when ``base_dir/parts...`` is a directory reached through no symlink."""
    try:
        os.close(open_dir(base_dir, parts))
    except OSError:
        return False
    return True


_openat2 = _Openat2()
