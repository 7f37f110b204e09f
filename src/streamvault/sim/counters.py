"""What the simulated Twitch saw on the wire: requests by route kind and node, responses by
status, faults applied, usher paths, connections, and segments requested more than once at
once. Pure: the server's handlers report, tests read a copy (``snapshot``)."""

from __future__ import annotations

import copy
from typing import Any

ROUTE_KINDS = ("gql", "usher", "playlist", "segment", "init", "control", "other")


class Counters:
    def __init__(self) -> None:
        self._counts: dict[str, Any] = {
            "requests": dict.fromkeys(ROUTE_KINDS, 0),
            "connections_opened": 0,
            "requests_by_node": {},
            "responses": {},
            "faults_applied": {},
            "usher_paths": {"v1": 0, "v2": 0},  # /api/channel/hls vs /api/v2/channel/hls
            # the most requests for one segment in flight at once, by "channel/quality/sequence"
            # (segments never requested twice at once are left out)
            "segment_in_flight_max": {},
        }
        self._in_flight: dict[str, int] = {}

    def snapshot(self) -> dict[str, Any]:
        """A deep copy: later requests do not change it."""
        return copy.deepcopy(self._counts)

    def request(self, kind: str, node: str | None) -> None:
        requests = self._counts["requests"]
        requests[kind] = requests.get(kind, 0) + 1
        by_node = self._counts["requests_by_node"]
        key = node or "default"
        by_node[key] = by_node.get(key, 0) + 1

    def response(self, status: int) -> None:
        responses = self._counts["responses"]
        responses[str(status)] = responses.get(str(status), 0) + 1

    def fault(self, kind: str) -> None:
        applied = self._counts["faults_applied"]
        applied[kind] = applied.get(kind, 0) + 1

    def usher_path(self, version: str) -> None:
        self._counts["usher_paths"][version] += 1

    def connection(self) -> None:
        self._counts["connections_opened"] += 1

    def segment_request(self, key: str, delta: int) -> None:
        """A request for segment ``key`` began (+1) or ended (-1): the in-flight maximum."""
        now = self._in_flight.get(key, 0) + delta
        if now > 0:
            self._in_flight[key] = now
        else:
            self._in_flight.pop(key, None)
        peaks = self._counts["segment_in_flight_max"]
        if now > max(1, peaks.get(key, 0)):  # only the interesting ones: memory stays small
            peaks[key] = now
