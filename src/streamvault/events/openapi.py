"""OpenAPI path items of ``/api/events`` (SPEC §12), merged into the restreamer's document."""

from __future__ import annotations

from typing import Any

from ..cutter.plan import CUT_TYPES
from ..http_errors import JSON, JSON_ERROR, json_doc, text_error_doc
from . import model

_TIME = {"type": "string", "format": "date-time", "example": "2026-11-28T04:05:06.789Z"}
_NULLABLE_STRING = {"type": ["string", "null"]}

_TRANSITION = {
    "type": ["object", "null"],
    "description": (
        "how this range joins the next: null (or type 'cut') for a plain join, or an ffmpeg "
        "xfade transition (fade, wipeleft, dissolve, ...) lasting duration seconds; the "
        "output is then shorter by that duration"
    ),
    "properties": {
        "type": {"type": "string", "enum": ["cut", *sorted(model.XFADE_TYPES)]},
        "duration": {"type": "number", "exclusiveMinimum": 0, "maximum": 60},
    },
}
_RANGE = {
    "type": "object",
    "required": ["start", "end"],
    "properties": {"start": _TIME, "end": _TIME, "transition": _TRANSITION},
}
_OUTPUT = {
    "type": ["object", "null"],
    "description": "the rendered file: a path or URL, its size in bytes and its SHA-256 (hex)",
    "properties": {
        "location": {"type": "string"},
        "size": {"type": "integer"},
        "sha256": {"type": "string"},
    },
}
#: What a client may send (create, or the changed fields of an update).
EVENT_FIELDS: dict[str, Any] = {
    "channel": {"type": "string", "description": "channel name (required at creation)"},
    "quality": {"type": "string", "default": "source"},
    "ranges": {"type": "array", "items": _RANGE, "description": "UTC ranges joined in order"},
    "title": {"type": "string", "maxLength": model.MAX_TITLE},
    "description": {"type": "string", "maxLength": model.MAX_DESCRIPTION},
    "tags": {"type": "array", "items": {"type": "string"}},
    "category": {"type": "string"},
    "notes": {"type": "string", "description": "notes to the editor"},
    "chapters": {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {"time": _TIME, "title": {"type": "string"}},
        },
    },
    "thumbnail": {
        "type": ["object", "null"],
        "description": "null for none, or the frame at a chosen instant",
        "properties": {"time": _TIME},
    },
    "cut_type": {"type": "string", "enum": list(CUT_TYPES), "default": "fast"},
    "allow_holes": {"type": "boolean", "default": False},
    "state": {
        "type": "string",
        "enum": list(model.STATES),
        "description": (
            "UNEDITED -> EDITED (submitted) -> CLAIMED (a cutter took it) -> DONE or FAILED; "
            "FAILED -> EDITED (resubmitted); DONE -> MODIFIED (to be cut again) -> CLAIMED. "
            "Any other change is refused with 400"
        ),
    },
    "editor": _NULLABLE_STRING,
    "error": {**_NULLABLE_STRING, "description": "why the cut failed (one line)"},
    "output": _OUTPUT,
    "progress": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
}
EVENT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "version": {"type": "integer", "description": "1 at creation, +1 on every change"},
        "created": _TIME,
        "updated": _TIME,
        **EVENT_FIELDS,
    },
}
_CONFLICT = {
    "type": "object",
    "required": ["error", "current"],
    "properties": {"error": {"type": "string"}, "current": EVENT},
}
_ETAG = {"ETag": {"description": 'the event\'s version, quoted: "3"', "schema": {"type": "string"}}}


def _errors(*statuses: str) -> dict[str, Any]:
    reasons = {
        "400": "a bad field, parameter or body, or an illegal state change",
        "403": "a path part starts with '.' (refused on every route)",
        "404": "no event has that id",
        "409": "the event changed since the If-Match version; current is the event as it is",
        "428": "If-Match is missing",
    }
    answers = {
        status: json_doc(reasons[status], _CONFLICT if status == "409" else JSON_ERROR)
        for status in statuses
    }
    if "403" in answers:  # answered by the restreamer's path check, before this API, as text
        answers["403"] = text_error_doc(reasons["403"])
    return answers


_ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "description": "event id",
    "schema": {"type": "integer"},
}
_IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    # needed, but its absence is answered 428 (SPEC §12), which OpenAPI's "required" (400)
    # cannot say
    "required": False,
    "description": 'the version the change is based on, quoted: "3"; without it: 428',
    "schema": {"type": "string"},
}

_EDITOR = {
    "name": "X-Editor",
    "in": "header",
    "required": False,
    "description": "who makes the change, for the history (else the body's editor, else anonymous)",
    "schema": {"type": "string"},
}


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "description": description, "schema": schema}


_LIST_PARAMETERS = [
    _query("channel", "only this channel", {"type": "string"}),
    _query(
        "state",
        "only these states (comma-separated or repeated)",
        {"type": "string", "example": "EDITED,MODIFIED"},
    ),
    _query("start", "only events whose ranges end after this UTC time", _TIME),
    _query("end", "only events whose ranges start before this UTC time", _TIME),
    _query("q", "text in the title, description, notes, category or tags", {"type": "string"}),
    _query(
        "limit",
        "events per page",
        {"type": "integer", "minimum": 1, "maximum": 500, "default": 50},
    ),
    _query("cursor", "the next value of the previous page", {"type": "string"}),
]
_BODY = {
    "required": True,
    "content": {JSON: {"schema": {"type": "object", "properties": EVENT_FIELDS}}},
}


def openapi_paths() -> dict[str, Any]:
    event = json_doc("the event", EVENT, headers=_ETAG)
    page = {
        "type": "object",
        "required": ["events", "next"],
        "properties": {
            "events": {"type": "array", "items": EVENT},
            "next": {"type": ["string", "null"], "description": "cursor of the next page"},
        },
    }
    change = {
        "type": "object",
        "properties": {
            "who": {"type": "string"},
            "when": _TIME,
            "action": {
                "type": "string",
                "description": (
                    "create, update, conflict (a stale update, kept), delete, claim, reclaim "
                    "(a lapsed lease taken over), release (handed back by a stopping cutter), "
                    "done, failed"
                ),
            },
            "version": {"type": "integer"},
            "changes": {
                "type": "object",
                "description": "field -> {old, new}",
                "additionalProperties": {"type": "object"},
            },
        },
    }
    created = json_doc(
        "the stored event; Location names it",
        EVENT,
        headers={**_ETAG, "Location": {"schema": {"type": "string"}}},
    )
    return {
        "/api/events": {
            "get": {
                "summary": "Events, newest first, filtered and paged",
                "parameters": _LIST_PARAMETERS,
                "responses": {"200": json_doc("a page of events", page), **_errors("400")},
            },
            "post": {
                "summary": "Create an event (state UNEDITED unless given)",
                "parameters": [_EDITOR],
                "requestBody": _BODY,
                "responses": {"201": created, **_errors("400")},
            },
        },
        "/api/events/{id}": {
            "get": {
                "summary": "One event",
                "parameters": [_ID],
                "responses": {"200": event, **_errors("403", "404")},
            },
            "patch": {
                "summary": "Change fields of an event (a state change is a change of state)",
                "parameters": [_ID, _IF_MATCH, _EDITOR],
                "requestBody": _BODY,
                "responses": {"200": event, **_errors("400", "403", "404", "409", "428")},
            },
            "delete": {
                "summary": "Delete an event (its history is kept)",
                "parameters": [_ID, _IF_MATCH, _EDITOR],
                "responses": {
                    "204": {"description": "deleted"},
                    **_errors("400", "403", "404", "409", "428"),
                },
            },
        },
        "/api/events/{id}/history": {
            "get": {
                "summary": "Every change of an event, oldest first: who, when, old -> new",
                "parameters": [_ID],
                "responses": {
                    "200": json_doc("the changes", {"type": "array", "items": change}),
                    **_errors("403", "404"),
                },
            }
        },
    }
