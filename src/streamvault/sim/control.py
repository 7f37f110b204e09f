"""The simulator's control routes: counters, faults, channel state."""

from __future__ import annotations

from aiohttp import web

from ..errors import ConfigError
from .context import chat_of, sim_of
from .faults import faults_from_json
from .playlists import format_pdt


async def counters(request: web.Request) -> web.StreamResponse:
    return web.json_response(sim_of(request).counters)


async def list_faults(request: web.Request) -> web.StreamResponse:
    return web.json_response([fault.to_dict() for fault in sim_of(request).faults])


async def add_faults(request: web.Request) -> web.StreamResponse:
    sim = sim_of(request)
    try:
        faults = faults_from_json(await request.json())
    except (ValueError, ConfigError) as err:
        return web.json_response({"error": str(err)}, status=400)
    for fault in faults:
        sim.add_fault(fault)
    return web.json_response({"added": len(faults), "active": len(sim.faults)})


async def clear_faults(request: web.Request) -> web.StreamResponse:
    sim_of(request).clear_faults()
    return web.json_response({"active": 0})


async def channels(request: web.Request) -> web.StreamResponse:
    """Each channel's state: online switch, live (no offline fault), sequences, sim time."""
    sim = sim_of(request)
    sim.advance()
    answer = []
    for timeline in sim.channels.values():
        answer.append(
            {
                "name": timeline.config.name,
                "qualities": sim.qualities(timeline),
                "master_style": timeline.config.master_style,
                "online": timeline.online,
                "live": sim.is_live(timeline, None),
                "origin": format_pdt(timeline.origin),
                "stream_seconds": round(sim.stream_seconds(timeline), 3),
                "published": len(timeline.published),
                "last_sequence": timeline.published[-1] if timeline.published else None,
            }
        )
    return web.json_response({"now": format_pdt(sim.clock.now()), "channels": answer})


async def set_state(request: web.Request) -> web.StreamResponse:
    state = request.match_info["state"]
    if state not in ("online", "offline"):
        raise web.HTTPNotFound()
    if not sim_of(request).set_online(request.match_info["channel"], state == "online"):
        raise web.HTTPNotFound(text="unknown channel")
    return web.json_response({"channel": request.match_info["channel"], "state": state})


async def chat_state(request: web.Request) -> web.StreamResponse:
    """The chat server's port, connections, and how many messages each channel was sent."""
    chat = chat_of(request)
    return web.json_response(
        {
            "port": chat.port,
            "connections": [c.nick for c in chat.clients],
            "connections_opened": chat.connections_opened,
            "sent": {name: len(keys) for name, keys in chat.sent.items()},
        }
    )


async def chat_fault(request: web.Request) -> web.StreamResponse:
    """``disconnect`` (``?nick=&refuse_for=SECONDS``) or ``reconnect`` (``?nick=&grace=``)."""
    chat = chat_of(request)
    action, query = request.match_info["action"], request.query
    nick = query.get("nick") or None
    try:
        seconds = float(query.get("refuse_for" if action == "disconnect" else "grace", "0"))
    except ValueError:
        return web.json_response({"error": "not a number of seconds"}, status=400)
    if action == "disconnect":
        count = chat.disconnect(nick, refuse_for=seconds)
    elif action == "reconnect":
        count = chat.reconnect(nick, grace=seconds or 5.0)
    else:
        raise web.HTTPNotFound(text="unknown chat fault")
    return web.json_response({"action": action, "connections": count})
