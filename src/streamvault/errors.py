"""The exception tree of streamvault.

Errors are split by whose fault they are, as h11 splits remote from local protocol errors:
something outside sent or holds bad data (``RemoteError``, ``BadInput``) versus our own state
(``StoreError``). Library errors are translated at the boundary with ``raise ... from err``.

    StreamvaultError
    ├── BadInput                 input from a user or a client that does not parse (HTTP 400)
    │   ├── BadTime              a timestamp that is not ISO 8601 / not UTC where UTC is required
    │   ├── UnsafePath           a path part that starts with "." or leaves the base directory
    │   ├── ConfigError          a configuration file or flag that makes no sense
    │   └── BadEvent             an event field or state change that is refused (HTTP 400)
    ├── MalformedName            a file name that is not a valid segment name (counted as "bad")
    ├── NotFound                 an unknown channel, quality, hour or file (HTTP 404)
    │   └── EventNotFound        no event has that id
    ├── NotAcceptable            a range with holes or without video (HTTP 406)
    │   └── ImageFailed          ffmpeg gave no image for the video there
    ├── EventConflict            an event changed since the version an update was based on (409)
    ├── RangeNotSatisfiable      a byte range outside the file (HTTP 416)
    ├── PreconditionRequired     a change without the If-Match it needs (HTTP 428)
    ├── CutFailed                ffmpeg could not produce a cut
    │   └── CutRefused           an event that cannot be cut as asked (no video, holes, ...)
    ├── OutputFailed             a finished cut could not be stored
    ├── StoreError               the segment store could not do what was asked
    │   └── DiskFull             ENOSPC / EDQUOT: nothing was written under a final name
    └── RemoteError              a peer or upstream server sent something bad
        ├── BadPlaylist          a playlist that does not parse
        ├── StreamOffline        the stream is not live (no token, or the playlist is gone)
        ├── HTTPStatusError      an unexpected HTTP status
        ├── TooLarge             a body past its byte cap (or a line count past its cap)
        ├── HashMismatch         downloaded bytes do not match the hash in their name
        ├── BadIrcLine           a chat server line that is not an IRC message
        └── BadAnswer            a peer's 200 answer that is not what the route promises
            └── AnswerTooLarge   a peer's body longer than this node takes

The HTTP statuses are those the restreamer's middleware answers with (the table is in
:mod:`streamvault.http_errors`); anything else a handler raises is a logged 500.
"""

from __future__ import annotations


class StreamvaultError(Exception):
    """Base of every error streamvault raises on purpose."""


class BadInput(StreamvaultError, ValueError):
    """Input from a user or client that does not parse; the API answers 400."""


class BadTime(BadInput):
    """A timestamp that does not parse, or is not UTC where only UTC is accepted."""


class UnsafePath(BadInput):
    """A path part starting with "." or one that would leave the base directory."""


class ConfigError(BadInput):
    """A configuration file or command-line flag that makes no sense."""


class BadEvent(BadInput):
    """An event field that does not validate, or a state change SPEC §12 forbids."""


class NotFound(StreamvaultError, LookupError):
    """An unknown channel, quality, hour or file; the API answers 404."""


class EventNotFound(NotFound):
    """No event has that id."""


class NotAcceptable(StreamvaultError):
    """The range holds holes (without ``allow_holes=true``) or no video at all; HTTP 406."""


class ImageFailed(NotAcceptable):
    """ffmpeg gave no image for the video there (HTTP 406)."""


class RangeNotSatisfiable(StreamvaultError):
    """A byte range outside the file (HTTP 416); ``headers`` go on the answer (its
    ``Content-Range: bytes */SIZE``)."""

    def __init__(self, message: str, headers: dict[str, str]) -> None:
        super().__init__(message)
        self.headers = headers


class PreconditionRequired(StreamvaultError):
    """A change that must say which version it is based on and does not (HTTP 428)."""


class CutFailed(StreamvaultError):
    """ffmpeg could not produce the cut."""


class CutRefused(CutFailed):
    """The event cannot be cut as asked (no video, holes, unknown stream)."""


class OutputFailed(StreamvaultError):
    """The finished cut could not be stored."""


class EventConflict(StreamvaultError):
    """An update or delete based on a stale version; ``current`` is the event as it is now."""

    def __init__(self, message: str, current: object) -> None:
        super().__init__(message)
        self.current = current


class MalformedName(StreamvaultError, ValueError):
    """A file name that is not a valid segment, temp or tombstone name."""


class StoreError(StreamvaultError, OSError):
    """The segment store could not complete an operation."""


class DiskFull(StoreError):
    """The disk (or quota) is full; nothing was left under a final name."""


class RemoteError(StreamvaultError):
    """A peer or upstream server sent something we cannot use."""


class BadPlaylist(RemoteError, ValueError):
    """A playlist that does not parse."""


class StreamOffline(RemoteError):
    """The stream is not live: Twitch has no token for the channel or usher answered 404, or
    a plain URL answered 403, 404 or 410."""


class HTTPStatusError(RemoteError):
    """An unexpected HTTP status from a peer or upstream."""

    def __init__(self, status: int, url: str, message: str = "") -> None:
        self.status = status
        self.url = url
        super().__init__(f"HTTP {status} from {url}" + (f": {message}" if message else ""))


class TooLarge(RemoteError):
    """A body (playlist, segment, init section) larger than we accept; the rest is refused."""


class HashMismatch(RemoteError):
    """Bytes whose SHA-256 does not match the hash in their segment name."""


class BadIrcLine(RemoteError, ValueError):
    """A chat server line that is not an IRC message (no command, a NUL byte, ...)."""


class BadAnswer(RemoteError):
    """A peer answered 200 with something that is not what the route promises."""


class AnswerTooLarge(BadAnswer):
    """A body longer than this node takes from a peer."""
