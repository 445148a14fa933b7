"""Scoring catalogue candidates against a library track (rapidfuzz)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from rapidfuzz import fuzz, process
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


def scores(want: Wanted, candidates: list[dict[str, Any]]) -> np.ndarray:
    """0-100 per candidate: weighted title, artist and mix similarity plus bonuses (batched)."""
    titles = [fold(c["title"]) for c in candidates]
    artists = [fold(" ".join(c["artists"])) for c in candidates]
    mixes = [fold(c["mix"]) or DEFAULT_MIX for c in candidates]
    title = process.cdist([want.title], titles, scorer=fuzz.token_sort_ratio, dtype=np.float64)
    artist = process.cdist([want.artists], artists, scorer=fuzz.token_set_ratio, dtype=np.float64)
    mix = process.cdist([want.mix], mixes, scorer=fuzz.ratio, dtype=np.float64)
    bonuses = np.array([bonus(want, c) for c in candidates])
    return TITLE_WEIGHT * title[0] + ARTIST_WEIGHT * artist[0] + MIX_WEIGHT * mix[0] + bonuses


def best_candidate(
    track: Track, candidates: list[dict[str, Any]]
) -> tuple[dict[str, Any] | None, float]:
    """The best-scoring candidate (first one on ties) and its score."""
    if not candidates:
        return None, 0.0
    points = scores(wanted(track), candidates)
    best = int(np.argmax(points))
    if points[best] <= 0.0:
        return None, 0.0
    return candidates[best], float(points[best])
