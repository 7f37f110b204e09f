"""OpenAPI path items of the editor's routes (:mod:`.stills`)."""

from __future__ import annotations

from typing import Any

from .http import JSON
from .images import MAX_HEIGHT, MAX_WAVEFORM_SPAN, MAX_WIDTH
from .openapi import CHANNEL, END, ERRORS, NOT_ACCEPTABLE, QUALITY, START, TIME_PATTERN

_PNG = {"image/png": {"schema": {"type": "string", "format": "binary"}}}
_TIME = {"type": "string", "pattern": TIME_PATTERN, "example": "2026-11-28T04:05:06.789Z"}
_HOURS = MAX_WAVEFORM_SPAN.total_seconds() / 3600


def _get(summary: str, parameters: list[dict[str, Any]], ok: dict[str, Any]) -> dict[str, Any]:
    return {
        "get": {
            "summary": summary,
            "parameters": parameters,
            "responses": {"200": ok, **ERRORS, **NOT_ACCEPTABLE},
        }
    }


_SPAN = {
    "type": "object",
    "required": ["start", "end", "kind"],
    "properties": {
        "start": {"type": "string"},
        "end": {"type": "string"},
        "kind": {"type": "string", "enum": ["full", "partial", "hole", "none"]},
    },
}

PATHS: dict[str, Any] = {
    "/frame/{channel}/{quality}.png": _get(
        "One decoded video frame at an instant, as PNG at the video's own size",
        [
            CHANNEL,
            QUALITY,
            {
                "name": "timestamp",
                "in": "query",
                "required": True,
                "description": "the instant, UTC ISO 8601; the frame showing then is returned",
                "schema": _TIME,
            },
        ],
        {"description": "the frame", "content": _PNG},
    ),
    "/waveform/{channel}/{quality}.png": _get(
        f"The audio waveform of a range (at most {_HOURS:g} h), as a PNG with holes left "
        "transparent; time runs left to right over the whole width",
        [
            CHANNEL,
            QUALITY,
            {**START, "required": True},
            {**END, "required": True, "description": "end of the range, UTC ISO 8601"},
            {
                "name": "size",
                "in": "query",
                "description": f"WIDTHxHEIGHT in pixels, at most {MAX_WIDTH}x{MAX_HEIGHT}",
                "schema": {"type": "string", "pattern": r"^\d{1,5}x\d{1,5}$", "default": "1024x64"},
            },
        ],
        {"description": "the waveform", "content": _PNG},
    ),
    "/spans/{channel}/{quality}.json": _get(
        "A range as back-to-back spans of full video, partial video (partial or suspect "
        "segments), holes and no data: what a timeline draws (default: the last hour; an "
        "implicit range is at most 12 h)",
        [CHANNEL, QUALITY, START, END],
        {
            "description": "the spans, and the start of the stream's first segment",
            "content": {
                JSON: {
                    "schema": {
                        "type": "object",
                        "required": ["start", "end", "spans"],
                        "properties": {
                            "start": {"type": "string"},
                            "end": {"type": "string"},
                            "first": {"type": ["string", "null"]},
                            "spans": {"type": "array", "items": _SPAN},
                        },
                    }
                }
            },
        },
    ),
}
