"""A cache of search responses, so that a repeated query does not go over the network."""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any

from trackmatch.text import fold

from perfkit.monitor import counter

_HITS = counter("cache.hit")
_MISSES = counter("cache.miss")
MAX_ENTRIES = 4096


class SearchCache:
    """Parsed results by normalised query (case and accents ignored), least recently used out."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._results: OrderedDict[tuple[str, int], list[dict[str, Any]]] = OrderedDict()
        self.max_entries = max_entries

    def get(self, query: str, limit: int) -> list[dict[str, Any]] | None:
        key = (fold(query), limit)
        results = self._results.get(key)
        if results is None:
            _MISSES.inc()
            return None
        _HITS.inc()
        self._results.move_to_end(key)
        return results

    def put(self, query: str, limit: int, body: bytes) -> list[dict[str, Any]]:
        results = json.loads(body)["results"]
        self._results[(fold(query), limit)] = results
        if len(self._results) > self.max_entries:
            self._results.popitem(last=False)
        return results

    def clear(self) -> None:
        self._results.clear()
