"""The simulator's aiohttp application and site, around a :class:`~.world.World`.

Every Twitch route also answers under ``/node/NAME``, which selects the faults with
``node="NAME"``; URLs handed out keep the prefix.
"""

from __future__ import annotations

import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from . import cdn, control, emotes, twitch_api
from .chat_server import ChatServer
from .context import CHAT_KEY, SIM_KEY, node_of
from .counters import Counters
from .tls import make_certificate, server_context
from .world import World

PREFIXES = (("", "plain"), ("/node/{node}", "node"))

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# -- application ---------------------------------------------------------------------------


def _counting_middleware(counts: Counters) -> Any:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        name = request.match_info.route.name
        counts.request(name.split(".")[0] if name else "other", node_of(request))
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            counts.response(exc.status)
            raise
        counts.response(response.status)
        return response

    return middleware


def make_app(world: World, chat: ChatServer | None = None) -> web.Application:
    """The Twitch, CDN, control and emote routes over ``world`` (chat routes: ``chat``)."""
    app = web.Application(middlewares=[_counting_middleware(world.counts)])
    app[SIM_KEY] = world
    if chat is not None:
        app[CHAT_KEY] = chat
    for prefix, tag in PREFIXES:
        app.router.add_post(f"{prefix}/gql", twitch_api.gql, name=f"gql.{tag}")
        for api in ("api", "api/v2"):
            app.router.add_get(
                f"{prefix}/{api}/channel/hls/{{channel}}.m3u8",
                twitch_api.usher,
                name=f"usher.{tag}{api.replace('/', '')}",
            )
        app.router.add_get(
            f"{prefix}/cdn/{{channel}}/{{quality}}/index.m3u8", cdn.media_playlist,
            name=f"playlist.{tag}",
        )  # fmt: skip
        app.router.add_get(
            f"{prefix}/cdn/{{channel}}/{{quality}}/init.mp4", cdn.init_section,
            name=f"init.{tag}",
        )  # fmt: skip
        for suffix in ("ts", "mp4"):
            app.router.add_get(
                f"{prefix}/cdn/{{channel}}/{{quality}}/{{sequence}}.{suffix}", cdn.segment,
                name=f"segment.{tag}{suffix}",
            )  # fmt: skip
    app.router.add_get("/control/counters", control.counters, name="control.counters")
    app.router.add_get("/control/channels", control.channels, name="control.channels")
    app.router.add_get("/control/faults", control.list_faults, name="control.faults")
    app.router.add_post("/control/faults", control.add_faults, name="control.add")
    app.router.add_delete("/control/faults", control.clear_faults, name="control.clear")
    app.router.add_post(
        "/control/channels/{channel}/{state}", control.set_state, name="control.state"
    )
    app.router.add_get(
        "/emoticons/v2/{id}/default/{theme}/{scale}", emotes.emote, name="other.emote"
    )
    app.router.add_get("/control/chat", control.chat_state, name="control.chat")
    app.router.add_post("/control/chat/{action}", control.chat_fault, name="control.chatfault")
    return app


async def start_site(
    counts: Counters, app: web.Application, host: str, port: int, *, tls: bool
) -> tuple[web.AppRunner, str, str | None]:
    """Serve ``app``, counting connections; returns the runner, the base URL and (with TLS)
    the certificate path."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    server = runner.server
    if server is not None:
        original = server.connection_made

        def connection_made(handler: Any, transport: Any) -> None:
            counts.connection()
            original(handler, transport)

        server.connection_made = connection_made  # type: ignore[method-assign]
    context, ca_file = None, None
    if tls:
        cert, key = make_certificate(Path(tempfile.mkdtemp(prefix="streamvault-sim-tls-")))
        context, ca_file = server_context(cert, key), str(cert)
    site = web.TCPSite(runner, host, port, ssl_context=context)
    await site.start()
    bound = runner.addresses[0][1]
    shown = "127.0.0.1" if host in ("", "0.0.0.0") else host
    shown = f"[{shown}]" if ":" in shown else shown
    scheme = "https" if tls else "http"
    return runner, f"{scheme}://{shown}:{bound}", ca_file
