"""The simulator's aiohttp application and site.

Every Twitch route also answers under ``/node/NAME``, which selects the faults with
``node="NAME"``; URLs handed out keep the prefix.
"""

from __future__ import annotations

import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import cdn, control, emotes, twitch_api
from .context import SIM_KEY, node_of
from .tls import make_certificate, server_context

if TYPE_CHECKING:
    from .simulator import Simulator

PREFIXES = (("", "plain"), ("/node/{node}", "node"))

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# -- application ---------------------------------------------------------------------------


def _counting_middleware(sim: Simulator) -> Any:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        name = request.match_info.route.name
        sim.count_request(name.split(".")[0] if name else "other", node_of(request))
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            sim.count_response(exc.status)
            raise
        sim.count_response(response.status)
        return response

    return middleware


def make_app(sim: Simulator) -> web.Application:
    app = web.Application(middlewares=[_counting_middleware(sim)])
    app[SIM_KEY] = sim
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
    sim: Simulator, app: web.Application, host: str, port: int, *, tls: bool
) -> tuple[web.AppRunner, str, str | None]:
    """Serve ``app``; returns the runner, the base URL and (with TLS) the certificate path."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    server = runner.server
    if server is not None:
        original = server.connection_made

        def connection_made(handler: Any, transport: Any) -> None:
            sim.count_connection()
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


def describe(sim: Simulator) -> str:
    """The lines ``streamvault sim`` prints so a downloader can be pointed at it."""
    flags = f"--twitch-gql-url {sim.base_url} --twitch-usher-url {sim.base_url}"
    if sim.ca_file:
        flags += f" --ca-file {sim.ca_file}"
    lines = [f"simulated Twitch at {sim.base_url}", f"downloader flags: {flags}"]
    lines.append(f"per-node faults: use {sim.node_url('NAME')} as both URLs")
    lines.append(f"control: {sim.base_url}/control/counters, {sim.base_url}/control/faults")
    if sim.chat is not None:
        lines.append(
            f"chat: IRC on 127.0.0.1:{sim.chat.port} (streamvault chat --irc-host 127.0.0.1 "
            f"--irc-port {sim.chat.port} --no-tls CHANNEL); faults: POST "
            f"{sim.base_url}/control/chat/disconnect or /control/chat/reconnect [?nick=NICK]"
        )
        lines.append(f"emotes: --emotes --emotes-url '{emotes.emotes_url(sim.base_url)}'")
    for channel in sim.config.channels:
        state = "online" if channel.online else "offline"
        qualities = ",".join(channel.qualities)
        lines.append(f"channel {channel.name}: {qualities} ({channel.master_style} style, {state})")
    return "\n".join(lines)
