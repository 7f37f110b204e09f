"""HTTP plumbing shared by every route: errors, path safety, CORS, request metrics.

Handlers raise the exceptions of :mod:`streamvault.errors` and the middleware here answers
them, the one place that does (:mod:`streamvault.http_errors` says which is which status):
a one-line ``text/plain`` reason, or ``{"error": ...}`` on the routes of a :class:`JsonApi`
(``/api/events``). Anything else is a logged 500, as a last resort (tests make sure hostile
input never gets there). No route builds an error answer or raises aiohttp's own.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from aiohttp import web
from prometheus_client import Counter, Histogram

from ..errors import BadInput, UnsafePath
from ..http_errors import JSON as JSON
from ..http_errors import error_answer, text_error

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

M3U8 = "application/vnd.apple.mpegurl"
MP2T = "video/mp2t"

requests_total = Counter(
    "streamvault_restreamer_requests_total",
    "HTTP requests answered by the restreamer",
    ["route", "method", "status"],
)
request_seconds = Histogram(
    "streamvault_restreamer_request_duration_seconds",
    "Time to answer (or, for streamed answers, to finish) a restreamer HTTP request",
    ["route"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
internal_errors = Counter(
    "streamvault_restreamer_internal_errors_total", "Restreamer requests that failed with a 500"
)


@dataclass(frozen=True, slots=True)
class JsonApi:
    """The routes under ``prefix`` answer errors in JSON and, on every method, let any origin
    read the ``exposed`` headers (an editor served by another node uses them, SPEC §13)."""

    prefix: str
    exposed: str


JSON_APIS: web.AppKey[tuple[JsonApi, ...]] = web.AppKey("json_apis", tuple)


def _json_api(request: web.Request) -> JsonApi | None:
    for api in request.app.get(JSON_APIS, ()):
        if request.path.startswith(api.prefix):
            return api
    return None


#: No file system takes a longer name; a longer path part can name nothing (400, not a 500).
NAME_MAX = 255


def check_raw_path(raw_path: str) -> None:
    """Refuse ``.``-leading parts, encoded separators and parts longer than a file name can be,
    before the router normalises them."""
    path = raw_path.split("?", 1)[0]
    if (
        path.startswith("/")
        and len(path) <= NAME_MAX
        and not ("%" in path or "/." in path or "\\" in path or "\0" in path)
    ):
        return  # the usual case, decided without splitting and decoding every part
    for part in path.split("/"):
        decoded = unquote(part)
        if len(decoded.encode("utf-8", "surrogateescape")) > NAME_MAX:
            raise BadInput(f"a path part is longer than {NAME_MAX} bytes")
        if decoded.startswith("."):
            raise UnsafePath(f"a path part may not start with '.': {decoded!r}")
        if "/" in decoded or "\\" in decoded or "\0" in decoded:
            raise UnsafePath(f"a path part may not hold a separator: {decoded!r}")


def _route(request: web.Request) -> str:
    info = request.match_info
    resource = info.route.resource if info.http_exception is None else None
    return resource.canonical if resource is not None else "unmatched"


# A client may send any token as a method; only these become label values (bounded series).
_METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"))
_metric_children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}


def _observe(request: web.Request, status: int, began: float) -> None:
    """Count an answer; the labelled children are looked up once per route, method and status
    (``labels()`` validates and locks on every call)."""
    route = _route(request)
    method = request.method if request.method in _METHODS else "other"
    key = (route, method, status)
    children = _metric_children.get(key)
    if children is None:
        counter = requests_total.labels(route, method, str(status))
        children = _metric_children[key] = (counter, request_seconds.labels(route))
    children[0].inc()
    children[1].observe(time.perf_counter() - began)


def _error_answer(request: web.Request, err: Exception, by_handler: bool) -> web.Response:
    """The answer to ``err``: in the route's form when its handler raised it, as text when
    the path check did (before any route)."""
    answer = error_answer(err, by_handler and _json_api(request) is not None)
    if answer is not None:
        return answer
    internal_errors.inc()
    log.exception("internal error answering %s %s", request.method, request.path_qs)
    return text_error(500, "internal error (logged)")


@web.middleware
async def answer_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Exceptions become answers (see the module doc), and every answer is counted and timed.

    One middleware rather than two: each layer costs a coroutine on every request.
    """
    began = time.perf_counter()
    status = 500  # counted as such when the client went away mid-answer
    response: web.StreamResponse | None = None
    by_handler = False
    try:
        check_raw_path(request.raw_path)
        if request.method == "OPTIONS":
            response = preflight(request)
        else:
            by_handler = True
            response = await handler(request)
    except web.HTTPException as err:
        status = err.status
        raise
    except ConnectionError:
        raise  # the client went away during a streamed answer: nothing to answer
    except Exception as err:
        response = _error_answer(request, err, by_handler)
    finally:
        _observe(request, status if response is None else response.status, began)
    return response


EXPOSED = "Content-Length, Content-Range, ETag, Accept-Ranges"
#: Request headers a browser may send with its GET (byte ranges, revalidation).
ALLOWED_HEADERS = "Range, If-Range, If-None-Match, If-Modified-Since"


_METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: web.Request) -> str:
    """The methods the path's route takes (GET, HEAD, OPTIONS where nothing matched)."""
    # no route takes OPTIONS, so a path that exists resolves to "405" with its methods
    refused = request.match_info.http_exception
    methods = {"GET", "HEAD", "OPTIONS"}
    if isinstance(refused, web.HTTPMethodNotAllowed):
        methods = {*refused.allowed_methods, "OPTIONS"}
    return ", ".join(method for method in _METHOD_ORDER if method in methods)


def preflight(request: web.Request) -> web.Response:
    """The answer to a CORS preflight (``OPTIONS``) for any path: any origin may use the
    methods the path takes (GET everywhere; also POST, PATCH, DELETE under /api/events)."""
    asked = request.headers.get("Access-Control-Request-Headers")
    methods = allowed_methods(request)
    return web.Response(
        status=204,
        headers={
            "Access-Control-Allow-Origin": "*",
            "Access-Control-Allow-Methods": methods,
            "Access-Control-Allow-Headers": asked or ALLOWED_HEADERS,
            "Access-Control-Max-Age": "86400",
            "Allow": methods,
        },
    )


async def add_cors(request: web.Request, response: web.StreamResponse) -> None:
    """Any origin may GET (SPEC §5): players and editors run in browsers on other hosts; and
    use a :class:`JsonApi` with any method."""
    api = _json_api(request)
    if api is not None:
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Expose-Headers"] = api.exposed
    elif request.method in ("GET", "HEAD"):
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Expose-Headers"] = EXPOSED


def json_response(data: Any, **kwargs: Any) -> web.Response:
    return web.json_response(data, content_type=JSON, **kwargs)


def query(request: web.Request) -> dict[str, list[str]]:
    """The query string as name -> every value given (for :mod:`.params`)."""
    return {name: request.query.getall(name) for name in set(request.query.keys())}
