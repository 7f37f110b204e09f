"""Signed, expiring URLs and access tokens for the simulator. Pure given a secret and a time."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass

#: the public web client's id, which the GraphQL endpoint demands (SPEC §6.1)
CLIENT_ID = "kimne78kx3ncx6brgo4mv6wki5h1ko"
PERSISTED_QUERY_HASH = "ed230aa1e33e07eebb8928504583da78a5173989fadfb1ac94be06a04f3cdbe9"


@dataclass(frozen=True, slots=True)
class Signer:
    secret: bytes

    def _mac(self, message: str) -> str:
        return hmac.new(self.secret, message.encode("utf-8"), hashlib.sha256).hexdigest()

    def sign_path(self, path: str, expires: int) -> str:
        return self._mac(f"url|{path}|{expires}")[:32]

    def check_path(self, path: str, expires: str | None, sig: str | None, now: float) -> bool:
        """True when ``sig`` signs (path, expires) and ``expires`` is still in the future."""
        if expires is None or sig is None:
            return False
        try:
            when = int(expires)
        except ValueError:
            return False
        return when > now and hmac.compare_digest(self.sign_path(path, when), sig)

    def make_token(self, channel: str, expires: int) -> tuple[str, str]:
        """(value, signature) of a playback access token for ``channel``."""
        value = json.dumps(
            {
                "adblock": False,
                "authorization": {"forbidden": False, "reason": ""},
                "channel": channel,
                "expires": expires,
                "private": {"allowed_to_view": True},
                "version": 2,
            },
            separators=(",", ":"),
        )
        return value, self._mac(f"token|{value}")[:40]

    def check_token(self, channel: str, value: str | None, sig: str | None, now: float) -> bool:
        """True when the token is signed by us, names ``channel`` and has not expired."""
        if value is None or sig is None:
            return False
        if not hmac.compare_digest(self._mac(f"token|{value}")[:40], sig):
            return False
        try:
            token = json.loads(value)
            return bool(
                str(token["channel"]).lower() == channel.lower() and float(token["expires"]) > now
            )
        except (ValueError, KeyError, TypeError):
            return False
