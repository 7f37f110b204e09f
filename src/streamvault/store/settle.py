"""When a directory's modification time may be trusted to say that nothing changed since.

The restreamer's listing cache, the change feed and the coverage scan reuse what they listed
while a directory's mtime stays the same. File systems stamp that time with a coarse clock:
nanoseconds on ext4, XFS and btrfs, but a whole second on ext3, HFS+ and some network
servers, and two seconds on FAT. A file added in the same tick as the listing would stay
invisible ("racy git"), so a directory changed less than :data:`SETTLE_NS` ago is listed
again. Two seconds covers every one of them: a node's store (like a wubloader node's) is
plain files on whatever disk it is given. A longer wait costs a few more listings, never a
missed file.
"""

from __future__ import annotations

SETTLE_NS = 2_000_000_000


def settled(mtime_ns: int, now_ns: int) -> bool:
    """Whether a directory last changed at ``mtime_ns`` and listed at ``now_ns`` (both file
    system time) can be trusted until its mtime changes."""
    return now_ns - mtime_ns >= SETTLE_NS
