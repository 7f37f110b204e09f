"""Shared helpers of the simulator's request handlers: the simulated world, the chat server,
node prefix, signing."""

from __future__ import annotations

from aiohttp import web

from .chat_server import ChatServer
from .world import World

M3U8 = "application/vnd.apple.mpegurl"
SIM_KEY = web.AppKey("sim", World)
CHAT_KEY = web.AppKey("chat", ChatServer)


def sim_of(request: web.Request) -> World:
    """The simulated world the handlers read and change."""
    return request.app[SIM_KEY]


def chat_of(request: web.Request) -> ChatServer:
    """The IRC chat server beside the world; 404 when the simulator runs without one."""
    chat = request.app.get(CHAT_KEY)
    if chat is None:
        raise web.HTTPNotFound(text="no chat server")
    return chat


def node_of(request: web.Request) -> str | None:
    return request.match_info.get("node")


def base(request: web.Request) -> str:
    node = node_of(request)
    return f"{request.scheme}://{request.host}" + (f"/node/{node}" if node else "")


def now(sim: World) -> float:
    return sim.clock.now().timestamp()


def signed(sim: World, base_url: str, path: str, max_age: float) -> str:
    expires = int(now(sim) + max_age)
    return f"{base_url}{path}?exp={expires}&sig={sim.signer.sign_path(path, expires)}"


def check_signature(request: web.Request, path: str) -> None:
    sim = sim_of(request)
    query = request.query
    if not sim.signer.check_path(path, query.get("exp"), query.get("sig"), now(sim)):
        raise web.HTTPForbidden(text="expired or bad signature")
