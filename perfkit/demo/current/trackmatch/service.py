"""The matching service: query variants per track, cached searches, best candidate."""

from __future__ import annotations

from typing import Any

from trackmatch.cache import SearchCache
from trackmatch.client import CatalogueClient
from trackmatch.models import MatchResult, Track
from trackmatch.scoring import best_candidate
from trackmatch.text import fold, split_artists, split_featured

from perfkit.monitor import measure_time

SEARCH_LIMIT = 25


def query_variants(track: Track) -> list[str]:
    """Several ways to ask the catalogue for a track, most specific first."""
    title, featured = split_featured(track.title)
    artists = split_artists(track.artist) + featured
    main = artists[0] if artists else ""
    variants = [
        f"{track.artist} {track.title}",
        f"{fold(main)} {fold(title)}",
        f"{title} {track.mix}".strip(),
    ]
    return list(dict.fromkeys(v for v in variants if v.strip()))


class Matcher:
    """Matches library tracks against the catalogue at `base_url`."""

    def __init__(self, base_url: str, limit: int = SEARCH_LIMIT) -> None:
        self.client = CatalogueClient(base_url)
        self.cache = SearchCache()
        self.limit = limit

    def search(self, query: str) -> list[dict[str, Any]]:
        results = self.cache.get(query, self.limit)
        if results is None:
            results = self.cache.put(query, self.limit, self.client.fetch(query, self.limit))
        return results

    def candidates(self, track: Track) -> list[dict[str, Any]]:
        """Results of every query variant, each catalogue record once, in first-seen order."""
        seen: dict[int, dict[str, Any]] = {}
        for query in query_variants(track):
            for record in self.search(query):
                seen.setdefault(record["id"], record)
        return list(seen.values())

    @measure_time(threshold=5.0)
    def process_track(self, track: Track) -> MatchResult:
        candidate, points = best_candidate(track, self.candidates(track))
        return MatchResult(track=track, candidate=candidate, score=points)

    @measure_time(threshold=60.0)
    def process_playlist(self, tracks: list[Track]) -> list[MatchResult]:
        return [self.process_track(track) for track in tracks]

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Matcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
