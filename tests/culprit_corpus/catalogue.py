"""Deterministic catalogue lines for the culprit corpus' suite (no files, no network)."""

from __future__ import annotations

import random

_FIRST = [
    "Daft",
    "Nina",
    "Beyoncé",
    "Röyksopp",
    "The",
    "Sigur",
    "Björk",
    "Kendrick",
    "Måneskin",
    "Los",
    "Aphex",
    "Massive",
    "Portishead",
    "Erykah",
    "Fela",
    "Rosalía",
    "Stromae",
    "Khruangbin",
]
_LAST = [
    "Punk",
    "Simone",
    "Knowles",
    "Rós",
    "Lamar",
    "Twin",
    "Attack",
    "Badu",
    "Kuti",
    "Tigres",
    "Collective",
    "Brothers",
    "Orchestra",
    "Quartet",
    "Sound System",
]
_WORDS = [
    "love",
    "night",
    "city",
    "dance",
    "blue",
    "fire",
    "river",
    "heart",
    "dream",
    "golden",
    "the",
    "of",
    "a",
    "song",
    "café",
    "señor",
    "light",
    "shadow",
    "summer",
    "rain",
    "lost",
    "electric",
    "paradise",
    "midnight",
    "wild",
    "forever",
    "ocean",
    "silver",
    "echo",
]
_VERSIONS = ["Remix", "Radio Edit", "Live", "2011 Remaster", "Extended Mix", "Acoustic Version"]


def artist(rng: random.Random) -> str:
    return f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"


def title(rng: random.Random) -> str:
    words = [rng.choice(_WORDS) for _ in range(rng.randint(2, 5))]
    return " ".join(w.capitalize() if rng.random() < 0.7 else w for w in words)


def line(rng: random.Random) -> str:
    artists = [artist(rng) for _ in range(rng.choice([1, 1, 1, 2, 3]))]
    sep = rng.choice([", ", " & ", " and ", " x "])
    text = f"{sep.join(artists)} - {title(rng)}"
    if rng.random() < 0.3:
        text += f" (feat. {artist(rng)})"
    if rng.random() < 0.35:
        text += f" [{rng.choice(_VERSIONS)}]"
    if rng.random() < 0.1:
        text += "!"
    return text


def lines(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    out = [line(rng) for _ in range(n)]
    for i in range(0, n, 9):  # near-duplicates, as real catalogues have
        out[i] = out[i // 2].replace(" - ", " - ", 1) + rng.choice(["", " (Live)", "!"])
    return out


def queries(n: int, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    return [title(rng) for _ in range(n)]
