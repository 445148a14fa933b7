"""Tracks read from a DJ library and the match found for each in the catalogue."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MATCH_THRESHOLD = 75.0

RESULT_COLUMNS = [
    "track_id",
    "artist",
    "title",
    "mix",
    "key",
    "bpm",
    "catalogue_id",
    "matched_artists",
    "matched_title",
    "matched_mix",
    "label",
    "genre",
    "release_date",
    "score",
    "matched",
]


@dataclass(frozen=True)
class Track:
    track_id: str
    artist: str
    title: str
    mix: str = ""
    key: str = ""
    bpm: float | None = None
    year: int | None = None


@dataclass(frozen=True)
class MatchResult:
    track: Track
    candidate: dict[str, Any] | None
    score: float

    @property
    def matched(self) -> bool:
        return self.candidate is not None and self.score >= MATCH_THRESHOLD

    @property
    def catalogue_id(self) -> int | None:
        return self.candidate["id"] if self.matched and self.candidate else None

    def to_row(self) -> dict[str, Any]:
        """One row of the results export (RESULT_COLUMNS)."""
        found = self.candidate if self.matched else None
        return {
            "track_id": self.track.track_id,
            "artist": self.track.artist,
            "title": self.track.title,
            "mix": self.track.mix,
            "key": self.track.key,
            "bpm": self.track.bpm,
            "catalogue_id": found["id"] if found else "",
            "matched_artists": ", ".join(found["artists"]) if found else "",
            "matched_title": found["title"] if found else "",
            "matched_mix": found["mix"] if found else "",
            "label": found["label"] if found else "",
            "genre": found["genre"] if found else "",
            "release_date": found["release_date"] if found else "",
            "score": round(self.score, 2),
            "matched": self.matched,
        }
