"""String similarity: character bigrams and token sets."""

from __future__ import annotations

_BIGRAMS: dict[str, frozenset[str]] = {}


def bigrams(text: str) -> frozenset[str]:
    """Character bigrams of a padded string, cached (titles repeat a lot)."""
    cached = _BIGRAMS.get(text)
    if cached is not None:
        return cached
    padded = f" {text} "
    grams = frozenset(padded[i : i + 2] for i in range(len(padded) - 1))
    if len(_BIGRAMS) < 50_000:
        _BIGRAMS[text] = grams
    return grams


def dice(a: str, b: str) -> float:
    ga, gb = bigrams(a), bigrams(b)
    if not ga or not gb:
        return 0.0
    return 2 * len(ga & gb) / (len(ga) + len(gb))


def token_set_ratio(a: list[str], b: list[str]) -> float:
    sa, sb = set(a), set(b)
    if not sa or not sb:
        return 0.0
    return len(sa & sb) / len(sa | sb)


def similarity(a: str, b: str, ta: list[str], tb: list[str]) -> float:
    """Blend of bigram and token similarity in [0, 1]."""
    return 0.6 * dice(a, b) + 0.4 * token_set_ratio(ta, tb)
