"""The OpenAPI 3.1 description of the restreamer, served at ``/openapi.json``.

Route modules describe themselves here; a module that adds routes to a running application
(``feed.setup``) puts its path items into ``app[OPENAPI_PATHS]`` and they appear too.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .. import __version__
from ..cutter.plan import CUT_TYPE_DESCRIPTIONS, CUT_TYPES
from ..http_errors import TEXT, text_error_doc
from .http import JSON, M3U8, MP2T
from .state import OPENAPI_PATHS

#: The UTC ISO 8601 times the API accepts (``timeutil.parse_time(text, utc_only=True)``).
TIME_PATTERN = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|\+00:?00)?$"
HOUR_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}$"

_TIME = {"type": "string", "pattern": TIME_PATTERN, "example": "2026-11-28T04:05:06.789Z"}


def _path(name: str, description: str, **schema: Any) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string", **schema},
    }


def _query(name: str, description: str, schema: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"name": name, "in": "query", "description": description, "schema": schema, **extra}


CHANNEL = _path("channel", "channel name")
QUALITY = _path("quality", "quality name, e.g. source or 480p")
HOUR = _path("hour", "UTC hour directory, YYYY-MM-DDTHH", pattern=HOUR_PATTERN)
START = _query(
    "start", "start of the range, UTC ISO 8601 (omitted: the stream's first segment)", _TIME
)
END = _query(
    "end",
    "end of the range, UTC ISO 8601 (omitted: now, and the playlist is a live one that "
    "players keep reloading; such an implicit range may be at most 12 hours long)",
    _TIME,
)
COVERAGE_START = _query(
    "start", "start of the range, UTC ISO 8601 (omitted: an hour before end)", _TIME
)
COVERAGE_END = _query("end", "end of the range, UTC ISO 8601 (omitted: now)", _TIME)
CUT_START = _query("start", "start of the range, UTC ISO 8601 (give end too, or range)", _TIME)
CUT_END = _query(
    "end", "end of the range, UTC ISO 8601; required with start (a cut has an end)", _TIME
)


def _cut_types() -> str:
    lines = [f"- `{name}`: {text}." for name, text in CUT_TYPE_DESCRIPTIONS.items()]
    return "how to cut:\n" + "\n".join(lines)


ERRORS = {
    "400": text_error_doc(
        "a parameter does not parse, or a path part is longer than 255 bytes (the body gives "
        "the reason in one line)"
    ),
    "403": text_error_doc("a path part starts with '.' or leaves the base directory"),
    "404": text_error_doc("unknown channel, quality or file"),
}
NOT_ACCEPTABLE = {
    "406": text_error_doc(
        "the range holds no video (for cuts: or holes, or video ffmpeg cannot cut)"
    )
}

_STRINGS = {"type": "array", "items": {"type": "string"}}


def _json_list(description: str) -> dict[str, Any]:
    return {"200": {"description": description, "content": {JSON: {"schema": _STRINGS}}}}


def _get(
    summary: str, parameters: list[dict[str, Any]], responses: dict[str, Any]
) -> dict[str, Any]:
    return {
        "get": {"summary": summary, "parameters": parameters, "responses": {**responses, **ERRORS}}
    }


_BINARY = {"type": "string", "format": "binary"}
_PLAYLIST = {"content": {M3U8: {"schema": {"type": "string"}}}}

_SEGMENT_HEADERS = {
    "ETag": {"description": "the segment's hash, quoted", "schema": {"type": "string"}},
    "Cache-Control": {"description": "public, immutable", "schema": {"type": "string"}},
}

_CHAT_COVERAGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["batches", "files", "unmerged", "hours", "gaps", "gap_seconds"],
    "properties": {
        "batches": {"type": "integer", "description": "minutes with a chat batch"},
        "files": {"type": "integer", "description": "batch files (several nodes' before a merge)"},
        "unmerged": {"type": "integer", "description": "files beyond one per minute"},
        "hours": {"type": "object", "description": "hour -> minutes with a batch"},
        "gaps": {
            "type": "array",
            "description": "minutes without a batch between the first and the last batch",
            "items": {"type": "object"},
        },
        "gap_seconds": {"type": "integer"},
    },
}

_COVERAGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["start", "end", "holes", "hole_count", "raw_coverage", "editable_coverage"],
    "properties": {
        "start": {"type": "string"},
        "end": {"type": "string"},
        "seconds": {"type": "number"},
        "segments": {"type": "integer"},
        "types": {"type": "object"},
        "duplicates": {"type": "integer"},
        "holes": {"type": "array", "items": {"type": "object"}},
        "hole_count": {"type": "integer"},
        "hole_duration": {"type": "number"},
        "overlaps": {"type": "object"},
        "raw_coverage": {"type": "object"},
        "editable_coverage": {"type": "object"},
        "hash_disagreements": {
            "type": "array",
            "description": "hash disagreements (nodes holding full segments of one start and "
            "duration with different hashes) found for segments in the range: "
            "start, duration, outcome (majority, prefix, undecidable, pending), winner, reason, "
            "versions (name, hash, holders)",
            "items": {"type": "object"},
        },
    },
}


def _cut() -> dict[str, Any]:
    parameters = [
        CHANNEL,
        QUALITY,
        CUT_START,
        CUT_END,
        _query(
            "range",
            "START,END; repeat to join several ranges back to back (instead of start/end)",
            {"type": "array", "items": {"type": "string"}},
            style="form",
            explode=True,
        ),
        _query(
            "type",
            _cut_types(),
            {"type": "string", "enum": list(CUT_TYPES), "default": "rough"},
        ),
        _query(
            "allow_holes",
            "cut even where the range has holes (without it such a cut is refused with 406)",
            {"type": "boolean", "default": False},
        ),
    ]
    content = {kind: {"schema": _BINARY} for kind in ("video/mp2t", "video/mp4", "video/webm")}
    responses = {
        "200": {
            "description": "the cut video: rough and fast cuts (and smart ones of one unbroken "
            "run) are sent with their length; other smart cuts and mpegts stream as ffmpeg "
            "makes them; mp4 and webm are complete files (a later request with a byte range "
            "is answered 206 from the same file)",
            "content": content,
        },
        "206": {"description": "one byte range of an mp4 or webm cut", "content": content},
    }
    return _get(
        "Cut a video file from one or more ranges", parameters, {**responses, **NOT_ACCEPTABLE}
    )


def build_paths() -> dict[str, Any]:
    segment = _get(
        "A segment file (HEAD, single byte ranges, ETag, immutable caching)",
        [
            CHANNEL,
            QUALITY,
            HOUR,
            _path(
                "name",
                "segment file name (TIME-DURATION-TYPE-HASH.ts), chat batch name (MM:SS-HASH.json,"
                " quality chat) or tombstone name (NAME.tombstone, an empty file)",
            ),
        ],
        {
            "200": {
                "description": "the whole file; 404 when a tombstone hides it",
                "headers": _SEGMENT_HEADERS,
                "content": {
                    MP2T: {"schema": _BINARY},
                    JSON: {"schema": {"type": "string"}},
                    "application/octet-stream": {"schema": _BINARY},
                },
            },
            "206": {
                "description": "one byte range",
                "headers": _SEGMENT_HEADERS,
                "content": {MP2T: {"schema": _BINARY}},
            },
            "304": {"description": "not modified (If-None-Match matched)"},
            "416": text_error_doc("byte range not satisfiable"),
        },
    )
    tombstones = _query(
        "tombstones", "list tombstone files too", {"type": "boolean", "default": False}
    )
    return {
        "/files": _get("Channels", [], _json_list("channel names")),
        "/files/{channel}": _get(
            "Qualities of a channel", [CHANNEL], _json_list("quality names, [] if none")
        ),
        "/files/{channel}/{quality}": _get(
            "Hours of a quality", [CHANNEL, QUALITY], _json_list("hour names, [] if none")
        ),
        "/files/{channel}/{quality}/{hour}": _get(
            "File names of an hour: segments, or chat batches for the quality chat (never"
            " temp files); tombstones (NAME.tombstone) too when asked",
            [CHANNEL, QUALITY, HOUR, tombstones],
            _json_list("file names, [] if none"),
        ),
        "/segments/{channel}/{quality}/{hour}/{name}": segment,
        "/segments/{path}": _get(
            "A file of an extra directory (such as emotes), as /extras/{dir} lists it under"
            " dir/path; revalidated on every use",
            [_path("path", "DIR/PATH relative to the base directory; no part may start with '.'")],
            {"200": {"description": "the file", "content": {"*/*": {"schema": _BINARY}}}},
        ),
        "/extras/{dir}": _get(
            "Every file under an extra directory, recursively (what a backfiller's --extras"
            " copies)",
            [_path("dir", "extra directory name, e.g. emotes")],
            _json_list("paths relative to the directory, with '/'; [] when it is missing"),
        ),
        "/playlist/{channel}.m3u8": _get(
            "HLS master playlist of the qualities with data in the range; each variant "
            "carries its measured BANDWIDTH, RESOLUTION, FRAME-RATE, CODECS and a NAME",
            [CHANNEL, START, END],
            {"200": {"description": "master playlist", **_PLAYLIST}, **NOT_ACCEPTABLE},
        ),
        "/playlist/{channel}/{quality}.m3u8": _get(
            "HLS media playlist (live without end; at most 12 h unless start and end are given)",
            [CHANNEL, QUALITY, START, END],
            {"200": {"description": "media playlist", **_PLAYLIST}, **NOT_ACCEPTABLE},
        ),
        "/cut/{channel}/{quality}.ts": _cut(),
        "/coverage/{channel}/{quality}.json": _get(
            "Holes, overlaps and per-type durations of a range (default: the last hour); for "
            "the quality 'chat', chat batch minutes per hour and the gaps between them",
            [CHANNEL, QUALITY, COVERAGE_START, COVERAGE_END],
            {
                "200": {
                    "description": "coverage figures; holes lie between the stream's first "
                    "and newest segment (time before or after them is no data, not a hole); "
                    "for the quality 'chat', chat coverage",
                    "content": {
                        JSON: {"schema": {"oneOf": [_COVERAGE_SCHEMA, _CHAT_COVERAGE_SCHEMA]}}
                    },
                }
            },
        ),
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics",
                "responses": {
                    "200": {
                        "description": "text format 0.0.4",
                        "content": {TEXT: {"schema": {"type": "string"}}},
                    },
                },
            }
        },
        "/openapi.json": {
            "get": {
                "summary": "This document",
                "responses": {
                    "200": {
                        "description": "OpenAPI 3.1",
                        "content": {JSON: {"schema": {"type": "object"}}},
                    },
                },
            }
        },
    }


def document(app: web.Application) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "streamvault restreamer",
            "version": __version__,
            "description": (
                "Listings, segments, HLS playlists, cuts and coverage of a stream archive."
            ),
        },
        "paths": dict(sorted(app[OPENAPI_PATHS].items())),
    }


async def handle_openapi(request: web.Request) -> web.Response:
    return web.json_response(document(request.app))
