"""Scoring catalogue candidates against a library track (rapidfuzz)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz
from trackmatch.models import Track
from trackmatch.text import fold, split_artists, split_featured

TITLE_WEIGHT = 0.45
ARTIST_WEIGHT = 0.30
MIX_WEIGHT = 0.15
KEY_BONUS = 4.0
YEAR_BONUS = 3.0
BPM_BONUS = 3.0
DEFAULT_MIX = "original mix"


@dataclass(frozen=True)
class Wanted:
    """A track's fields as scoring compares them."""

    title: str
    artists: str
    mix: str
    key: str
    year: int | None
    bpm: float | None


def wanted(track: Track) -> Wanted:
    title, featured = split_featured(track.title)
    artists = split_artists(track.artist) + featured
    return Wanted(
        title=fold(title),
        artists=fold(" ".join(artists)),
        mix=fold(track.mix) or DEFAULT_MIX,
        key=track.key,
        year=track.year,
        bpm=track.bpm,
    )


def bonus(want: Wanted, candidate: dict[str, Any]) -> float:
    points = 0.0
    if want.key and want.key == candidate["key"]:
        points += KEY_BONUS
    if want.year is not None and str(want.year) == candidate["release_date"][:4]:
        points += YEAR_BONUS
    if want.bpm is not None and abs(want.bpm - candidate["bpm"]) <= 0.5:
        points += BPM_BONUS
    return points


def score(want: Wanted, candidate: dict[str, Any]) -> float:
    """0-100: weighted title, artist and mix similarity plus key, year and BPM bonuses."""
    title = fuzz.token_sort_ratio(want.title, fold(candidate["title"]))
    artists = fuzz.token_set_ratio(want.artists, fold(" ".join(candidate["artists"])))
    mix = fuzz.ratio(want.mix, fold(candidate["mix"]) or DEFAULT_MIX)
    return (
        TITLE_WEIGHT * title + ARTIST_WEIGHT * artists + MIX_WEIGHT * mix + bonus(want, candidate)
    )


def best_candidate(
    track: Track, candidates: list[dict[str, Any]]
) -> tuple[dict[str, Any] | None, float]:
    """The best-scoring candidate (first one on ties) and its score."""
    want = wanted(track)
    best, best_score = None, 0.0
    for candidate in candidates:
        points = score(want, candidate)
        if points > best_score:
            best, best_score = candidate, points
    return best, best_score
