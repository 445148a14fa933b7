"""Text normalisation shared by queries and scoring: accents, featured artists, mixes."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_SPACES = re.compile(r"\s+")
_PUNCT = re.compile(r"[^\w\s]")
_MIX_SUFFIX = re.compile(
    r"\s*[\(\[]([^()\[\]]*\b(?:mix|edit|remix|dub|version|instrumental|rework))[\)\]]\s*$",
    re.IGNORECASE,
)
_FEATURING = re.compile(r"\s*[\(\[]?\b(?:feat\.?|ft\.?|featuring)\s+([^()\[\]]+)[\)\]]?", re.I)
_ARTIST_SEPARATORS = re.compile(r"\s*(?:,|&|\bfeat\.?|\bft\.?|\bfeaturing\b|\bvs\.?)\s*", re.I)


@lru_cache(maxsize=65_536)
def fold(text: str) -> str:
    """Lower case, accents and punctuation removed, single spaces: what two spellings share."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return _SPACES.sub(" ", _PUNCT.sub(" ", ascii_text.lower())).strip()


def split_mix(name: str) -> tuple[str, str]:
    """``"Waves (Dub Mix)"`` -> ``("Waves", "Dub Mix")``."""
    match = _MIX_SUFFIX.search(name)
    if not match:
        return name.strip(), ""
    return name[: match.start()].strip(), match.group(1).strip()


def split_featured(title: str) -> tuple[str, list[str]]:
    """``"Drive (feat. Ana)"`` -> ``("Drive", ["Ana"])``."""
    featured = [m.group(1).strip() for m in _FEATURING.finditer(title)]
    return _FEATURING.sub("", title).strip(), featured


def split_artists(text: str) -> list[str]:
    """``"A & B feat. C"`` -> ``["A", "B", "C"]``."""
    return [part for part in _ARTIST_SEPARATORS.split(text) if part.strip()]


# Letters that NFKD leaves alone, so that "orsted" finds "Ørsted" and "strasse" finds "Straße".
_LETTERS = {"ø": "o", "æ": "ae", "œ": "oe", "ß": "ss", "ł": "l", "đ": "d", "ð": "d", "þ": "th"}


def search_text(text: str) -> str:
    """Lower-case ASCII for the results search: accents and the letters NFKD keeps folded."""
    folded = ""
    for char in unicodedata.normalize("NFKD", text.lower()):
        if char < "\x80":
            folded += char
        elif char in _LETTERS:
            folded += _LETTERS[char]
    return folded
