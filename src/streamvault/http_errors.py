"""How streamvault's HTTP APIs answer an error, in one place: which exception of
:mod:`streamvault.errors` is which status, the answer's body, and its OpenAPI description.

Handlers raise; the restreamer's middleware (:mod:`streamvault.restreamer.http`) calls
:func:`error_answer`. An answer is one line of ``text/plain`` giving the reason, or, under a
JSON API such as ``/api/events``, ``{"error": "one line"}`` (a 409 adds ``current``, the
event as it is now).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .errors import (
    BadInput,
    EventConflict,
    NotAcceptable,
    NotFound,
    PreconditionRequired,
    RangeNotSatisfiable,
    UnsafePath,
)

JSON = "application/json"
TEXT = "text/plain"

#: The first kind an exception is decides its status (UnsafePath before the BadInput it is).
STATUSES: tuple[tuple[type[Exception], int], ...] = (
    (UnsafePath, 403),
    (BadInput, 400),
    (NotFound, 404),
    (NotAcceptable, 406),
    (EventConflict, 409),
    (RangeNotSatisfiable, 416),
    (PreconditionRequired, 428),
)


def one_line(reason: object) -> str:
    return " ".join(str(reason).split())


def text_error(status: int, reason: str, headers: dict[str, str] | None = None) -> web.Response:
    """``reason`` in one line of text (the status's own reason when it is empty)."""
    line = one_line(reason) or web.Response(status=status).reason
    if headers is not None and "Content-Type" in headers:
        return web.Response(status=status, text=line + "\n", headers=headers)
    return web.Response(status=status, text=line + "\n", content_type=TEXT, headers=headers)


def json_error(status: int, reason: str, **extra: Any) -> web.Response:
    return web.json_response({"error": one_line(reason), **extra}, status=status)


def error_answer(err: Exception, as_json: bool) -> web.Response | None:
    """The answer to ``err``; None when it is none of the expected kinds (a bug: a 500)."""
    for kind, status in STATUSES:
        if isinstance(err, kind):
            if as_json:
                extra = {"current": err.current} if isinstance(err, EventConflict) else {}
                return json_error(status, str(err), **extra)
            headers = err.headers if isinstance(err, RangeNotSatisfiable) else None
            return text_error(status, str(err), headers)
    return None


def text_error_doc(description: str) -> dict[str, Any]:
    """The OpenAPI response object of a text error."""
    return {"description": description, "content": {TEXT: {"schema": {"type": "string"}}}}


#: The body of a JSON error.
JSON_ERROR: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string", "description": "the reason, in one line"}},
}


def json_doc(description: str, schema: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """The OpenAPI response object of a JSON answer (an error's body is :data:`JSON_ERROR`)."""
    return {"description": description, "content": {JSON: {"schema": schema}}, **extra}
