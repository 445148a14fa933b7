"""A cache of search responses, so that a repeated query does not go over the network."""

from __future__ import annotations

import json
from typing import Any

from perfkit.monitor import counter

_HITS = counter("cache.hit")
_MISSES = counter("cache.miss")


class SearchCache:
    """Raw response bodies by exact query text."""

    def __init__(self) -> None:
        self._bodies: dict[str, bytes] = {}

    @staticmethod
    def _key(query: str, limit: int) -> str:
        return json.dumps({"q": query, "limit": limit}, sort_keys=True)

    def get(self, query: str, limit: int) -> list[dict[str, Any]] | None:
        body = self._bodies.get(self._key(query, limit))
        if body is None:
            _MISSES.inc()
            return None
        _HITS.inc()
        return json.loads(body)["results"]

    def put(self, query: str, limit: int, body: bytes) -> list[dict[str, Any]]:
        self._bodies[self._key(query, limit)] = body
        return json.loads(body)["results"]

    def clear(self) -> None:
        self._bodies.clear()
