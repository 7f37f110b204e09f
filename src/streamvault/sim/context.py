"""Shared helpers of the simulator's request handlers: the simulator, node prefix, signing."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from .simulator import Simulator

M3U8 = "application/vnd.apple.mpegurl"
SIM_KEY = web.AppKey("sim", object)


def sim_of(request: web.Request) -> Simulator:
    sim: Simulator = request.app[SIM_KEY]  # type: ignore[assignment]
    return sim


def node_of(request: web.Request) -> str | None:
    return request.match_info.get("node")


def base(request: web.Request) -> str:
    node = node_of(request)
    return f"{request.scheme}://{request.host}" + (f"/node/{node}" if node else "")


def now(sim: Simulator) -> float:
    return sim.clock.now().timestamp()


def signed(sim: Simulator, base_url: str, path: str, max_age: float) -> str:
    expires = int(now(sim) + max_age)
    return f"{base_url}{path}?exp={expires}&sig={sim.signer.sign_path(path, expires)}"


def check_signature(request: web.Request, path: str) -> None:
    sim = sim_of(request)
    query = request.query
    if not sim.signer.check_path(path, query.get("exp"), query.get("sig"), now(sim)):
        raise web.HTTPForbidden(text="expired or bad signature")
