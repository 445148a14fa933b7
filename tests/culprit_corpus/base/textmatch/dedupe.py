"""Grouping near-duplicate records (same artists, similar titles)."""

from __future__ import annotations

from textmatch.normalize import normalize_title
from textmatch.parse import Record
from textmatch.similarity import dice

THRESHOLD = 0.8


def artist_key(record: Record) -> str:
    return "|".join(sorted(a.casefold() for a in record.artists))


def dedupe(records: list[Record]) -> list[list[Record]]:
    """Groups of records by artist key whose titles are within THRESHOLD of each other."""
    by_artist: dict[str, list[int]] = {}
    for i, record in enumerate(records):
        by_artist.setdefault(artist_key(record), []).append(i)
    titles = [normalize_title(r.title) for r in records]
    groups: list[list[Record]] = []
    seen: set[int] = set()
    for members in by_artist.values():
        for i in members:
            if i in seen:
                continue
            group = [i]
            seen.add(i)
            for j in members:
                if j not in seen and dice(titles[i], titles[j]) >= THRESHOLD:
                    group.append(j)
                    seen.add(j)
            groups.append([records[k] for k in group])
    return groups
