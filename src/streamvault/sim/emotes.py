"""The simulator's emote CDN: ``/emoticons/v2/ID/default/THEME/SCALE`` answers a small PNG
(28 px per scale step, a colour from the id, dark or light), as Twitch's static CDN does."""

from __future__ import annotations

import io
import zlib

from aiohttp import web
from PIL import Image

SCALES = {"1.0": 28, "2.0": 56, "3.0": 112}
THEMES = ("light", "dark")


async def emote(request: web.Request) -> web.StreamResponse:
    info = request.match_info
    size = SCALES.get(info["scale"])
    if size is None or info["theme"] not in THEMES or not info["id"].isalnum():
        raise web.HTTPNotFound()
    seed = zlib.crc32(info["id"].encode())
    colour = (seed & 0xFF, seed >> 8 & 0xFF, seed >> 16 & 0xFF)
    background = (24, 24, 27) if info["theme"] == "dark" else (255, 255, 255)
    image = Image.new("RGB", (size, size), background)
    image.paste(colour, (size // 4, size // 4, 3 * size // 4, 3 * size // 4))
    out = io.BytesIO()
    image.save(out, "PNG")
    return web.Response(body=out.getvalue(), content_type="image/png")


def emotes_url(base_url: str) -> str:
    """The ``--emotes-url`` template that points the chat archiver at this simulator."""
    return base_url + "/emoticons/v2/{id}/default/{theme}/{scale}"
