"""The simulator's Twitch API roles: the GraphQL access token and usher master playlists."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .config import quality_info
from .context import M3U8, base, node_of, now, signed, sim_of
from .playlists import Variant, render_master_ivs_style, render_master_media_style
from .signing import CLIENT_ID, PERSISTED_QUERY_HASH
from .world import ChannelTimeline, World

# -- GraphQL ------------------------------------------------------------------------------


def _token_answer(sim: World, body: Any) -> dict[str, Any] | None:
    """The answer to one PlaybackAccessToken query, or None if the query is not that."""
    if not isinstance(body, dict) or body.get("operationName") != "PlaybackAccessToken":
        return None
    persisted = (body.get("extensions") or {}).get("persistedQuery") or {}
    if persisted.get("sha256Hash") != PERSISTED_QUERY_HASH or persisted.get("version") != 1:
        return None
    login = str((body.get("variables") or {}).get("login", ""))
    timeline = sim.channel(login)
    if timeline is None:
        return {"data": {"streamPlaybackAccessToken": None}}
    value, signature = sim.signer.make_token(
        timeline.config.name, int(now(sim) + sim.config.token_max_age)
    )
    token = {"value": value, "signature": signature, "__typename": "PlaybackAccessToken"}
    return {"data": {"streamPlaybackAccessToken": token}}


async def gql(request: web.Request) -> web.StreamResponse:
    if request.headers.get("Client-ID") != CLIENT_ID:
        return web.json_response(
            {
                "error": "Unauthorized",
                "status": 401,
                "message": "bad Client-ID",
            },
            status=401,
        )
    try:
        body = await request.json()
    except ValueError:
        return web.json_response({"errors": [{"message": "body is not JSON"}]}, status=400)
    sim = sim_of(request)
    queries = body if isinstance(body, list) else [body]
    answers = [_token_answer(sim, query) for query in queries]
    if not answers or any(answer is None for answer in answers):
        return web.json_response({"errors": [{"message": "PersistedQueryNotFound"}]}, status=400)
    return web.json_response(answers if isinstance(body, list) else answers[0])


# -- usher ---------------------------------------------------------------------------------


def _offline() -> web.Response:
    body = [{"error": "twirp error not_found: transcode does not exist", "type": "error",
             "error_code": "transcode_does_not_exist"}]  # fmt: skip
    return web.json_response(body, status=404)


def _variants(sim: World, timeline: ChannelTimeline, node: str | None, base: str) -> list[Variant]:
    name = timeline.config.name
    variants: list[Variant] = []
    for quality in timeline.config.qualities:
        if sim.playlist_fault("missing_quality", timeline, quality, node) is not None:
            sim.counts.fault("missing_quality")
            continue
        info = quality_info(quality)
        max_age = sim.config.playlist_url_max_age
        if timeline.config.master_style == "ivs" and quality != "source":
            uri = signed(sim, base, f"/cdn/{name}/{quality}-portrait/index.m3u8", max_age)
            variants.append(Variant(info, uri, portrait=True))
        uri = signed(sim, base, f"/cdn/{name}/{quality}/index.m3u8", max_age)
        variants.append(Variant(info, uri))
    return variants


async def usher(request: web.Request) -> web.StreamResponse:
    sim, node = sim_of(request), node_of(request)
    sim.counts.usher_path("v2" if "/api/v2/" in request.path else "v1")
    timeline = sim.channel(request.match_info["channel"])
    if timeline is None:
        return _offline()
    query = request.query
    if not sim.signer.check_token(
        timeline.config.name, query.get("token"), query.get("sig"), now(sim)
    ):
        return web.json_response(
            [{"error": "Unauthorized", "type": "error", "error_code": "invalid_token"}], status=403
        )
    sim.advance()
    if not sim.is_live(timeline, node):
        return _offline()
    variants = _variants(sim, timeline, node, base(request))
    if timeline.config.master_style == "ivs":
        text = render_master_ivs_style(variants)
    else:
        text = render_master_media_style(variants, now(sim), timeline.config.source_name)
    return web.Response(text=text, content_type=M3U8)
