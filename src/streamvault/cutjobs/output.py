"""Where finished cuts go: a local directory or an S3-compatible bucket, written atomically.

Both take the cut's bytes as they come, hash them (SHA-256) and count them, and make the file
appear under its final name only once it is whole:

- :class:`LocalOutput`: a temp name in the same directory, fsynced, renamed, directory fsynced;
- :class:`S3Output`: a local temp file, then one upload (boto3's managed transfer, multipart
  for large files): an S3 object becomes visible only when its upload completes, and a killed
  upload leaves nothing under the key. The size is checked with a HEAD afterwards.

boto3 is synchronous; its calls run in a worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from ..errors import ConfigError, OutputFailed
from ..store.disk import write_all

#: Prefix of a local output's temp files (never a final name: those end in the cut's type).
TEMP_PREFIX = ".partial-"
#: Temp files a dead cutter left behind are removed once they are this old (seconds).
STALE_TEMP = 3600.0


@dataclass(frozen=True, slots=True)
class Stored:
    location: str
    size: int
    sha256: str

    def as_json(self) -> dict[str, Any]:
        return {"location": self.location, "size": self.size, "sha256": self.sha256}


Counter = Callable[[int], None]


class Output(Protocol):
    async def store(self, name: str, chunks: AsyncIterator[bytes], count: Counter) -> Stored:
        """Write ``chunks`` as ``name``; ``count`` hears how many bytes each chunk had."""


async def _write_temp(fd: int, chunks: AsyncIterator[bytes], count: Counter) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    async for chunk in chunks:
        digest.update(chunk)
        await asyncio.to_thread(write_all, fd, chunk)
        size += len(chunk)
        count(len(chunk))
    await asyncio.to_thread(os.fsync, fd)
    return size, digest.hexdigest()


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalOutput:
    def __init__(self, directory: str) -> None:
        self.directory = os.path.abspath(directory)

    def prepare(self, now: float | None = None) -> int:
        """Make the directory; remove temp files older than :data:`STALE_TEMP`."""
        os.makedirs(self.directory, exist_ok=True)
        removed = 0
        now = time.time() if now is None else now  # the file system's time (mtimes)
        for entry in os.scandir(self.directory):
            if entry.name.startswith(TEMP_PREFIX) and now - entry.stat().st_mtime > STALE_TEMP:
                os.unlink(entry.path)
                removed += 1
        return removed

    async def store(self, name: str, chunks: AsyncIterator[bytes], count: Counter) -> Stored:
        final = os.path.join(self.directory, name)
        temp = os.path.join(self.directory, f"{TEMP_PREFIX}{uuid.uuid4().hex}-{name}")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            try:
                size, sha256 = await _write_temp(fd, chunks, count)
            finally:
                os.close(fd)
            os.replace(temp, final)
            await asyncio.to_thread(_fsync_dir, self.directory)
        except OSError as err:
            raise OutputFailed(f"cannot write {final}: {err.strerror or err}") from err
        finally:
            with contextlib.suppress(FileNotFoundError):  # renamed, unless it failed
                os.unlink(temp)
        return Stored(final, size, sha256)


def parse_s3_url(url: str) -> tuple[str, str]:
    """``s3://BUCKET/PREFIX`` -> (bucket, prefix without slashes at the ends)."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise ConfigError(f"not an S3 URL (s3://BUCKET/PREFIX): {url!r}")
    return parts.netloc, parts.path.strip("/")


class S3Output:
    def __init__(self, url: str, endpoint_url: str | None = None) -> None:
        import boto3  # only a node that writes to S3 pays for importing it

        self.bucket, self.prefix = parse_s3_url(url)
        self.client = boto3.session.Session().client("s3", endpoint_url=endpoint_url)

    def key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    async def store(self, name: str, chunks: AsyncIterator[bytes], count: Counter) -> Stored:
        key = self.key(name)
        fd, temp = tempfile.mkstemp(prefix="streamvault-upload-")
        try:
            try:
                size, sha256 = await _write_temp(fd, chunks, count)
            finally:
                os.close(fd)
            await asyncio.to_thread(self._upload, temp, key, size, sha256)
        finally:
            os.unlink(temp)
        return Stored(f"s3://{self.bucket}/{key}", size, sha256)

    def _upload(self, path: str, key: str, size: int, sha256: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.upload_file(
                path, self.bucket, key, ExtraArgs={"Metadata": {"sha256": sha256}}
            )
            stored = self.client.head_object(Bucket=self.bucket, Key=key)["ContentLength"]
        except (BotoCoreError, ClientError) as err:
            raise OutputFailed(f"cannot upload s3://{self.bucket}/{key}: {err}") from err
        if stored != size:
            raise OutputFailed(f"s3://{self.bucket}/{key} holds {stored} bytes, not {size}")


def open_output(target: str, endpoint_url: str | None = None) -> Output:
    if target.startswith("s3://"):
        return S3Output(target, endpoint_url)
    output = LocalOutput(target)
    output.prepare()
    return output
