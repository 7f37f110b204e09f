"""Benchmark: a full coverage pass over a week of 2 s segments, then an incremental pass.

    .venv/bin/python bench/coverage.py [--days 7] [--qualities 2] [--dir /tmp]

Creates ``days x 24 x 1800 x qualities`` empty files with valid segment names (about 600,000
for the defaults) in a temporary store, runs a full pass of the coverage service (listing,
computing, PNG and HTML), adds one segment and runs an incremental pass. Targets: full pass
<= 20 s, incremental pass <= 1 s. The temporary store is removed afterwards.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta

from streamvault.coverage.scan import CoverageScanner
from streamvault.coverage.service import CoverageService
from streamvault.store.disk import SegmentStore
from streamvault.store.naming import EMPTY_HASH, format_name
from streamvault.timeutil import hour_name

START = datetime(2026, 11, 21, 0, tzinfo=UTC)
FULL_TARGET, INCREMENTAL_TARGET = 20.0, 1.0


def create_store(base: str, days: int, qualities: int) -> tuple[int, str]:
    """Empty segment files, the last one of the last hour left out; returns (count, its dir)."""
    names = [
        format_name(START + timedelta(seconds=2 * i), 2.0, "full", EMPTY_HASH) for i in range(1800)
    ]
    flags = os.O_CREAT | os.O_WRONLY | os.O_EXCL
    count, directory = 0, ""
    hours = [hour_name(START + timedelta(hours=h)) for h in range(days * 24)]
    for quality in [f"q{n}" for n in range(qualities)]:
        for index, hour in enumerate(hours):
            directory = os.path.join(base, "bench", quality, hour)
            os.makedirs(directory)
            dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
            try:
                last = index == len(hours) - 1
                for name in names[:-1] if last else names:
                    os.close(os.open(name, flags, 0o644, dir_fd=dir_fd))
                    count += 1
            finally:
                os.close(dir_fd)
    return count, directory


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--qualities", type=int, default=2)
    parser.add_argument("--dir", default=tempfile.gettempdir(), help="where to make the store")
    args = parser.parse_args()
    base = tempfile.mkdtemp(prefix="streamvault-bench-coverage-", dir=args.dir)
    try:
        began = time.perf_counter()
        count, last_dir = create_store(base, args.days, args.qualities)
        print(f"created {count} files in {time.perf_counter() - began:.1f} s")
        time.sleep(2.1)  # let every directory's mtime settle, as older hours are in real use
        store = SegmentStore(base)
        service = CoverageService(store, CoverageScanner(store))
        full = service.run_pass()
        hours = full.hours_listed
        print(
            f"full pass: {full.seconds:.2f} s ({hours} hour directories, "
            f"{len(full.maps_written)} maps written), target <= {FULL_TARGET:.0f} s"
        )
        last_name = format_name(START + timedelta(seconds=2 * 1799), 2.0, "full", EMPTY_HASH)
        os.close(os.open(os.path.join(last_dir, last_name), os.O_CREAT | os.O_WRONLY, 0o644))
        incremental = service.run_pass()
        print(
            f"incremental pass after one new segment: {incremental.seconds:.3f} s "
            f"({incremental.hours_listed} hour directory listed), "
            f"target <= {INCREMENTAL_TARGET:.0f} s"
        )
        print(f"ratio full / incremental: {full.seconds / incremental.seconds:.0f}x")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak memory: {peak:.0f} MiB")
        ok = full.seconds <= FULL_TARGET and incremental.seconds <= INCREMENTAL_TARGET
        print("targets met" if ok else "TARGETS MISSED")
        return 0 if ok else 1
    finally:
        began = time.perf_counter()
        shutil.rmtree(base, ignore_errors=True)
        print(f"removed the store in {time.perf_counter() - began:.1f} s")


if __name__ == "__main__":
    sys.exit(main())
