"""Text normalisation: accents, case, punctuation, stop words."""

from __future__ import annotations

import re
import unicodedata

_PUNCT = re.compile(r"[^\w\s]")
_SPACES = re.compile(r"\s+")
_BRACKETS = re.compile(r"\s*[\(\[][^\)\]]*[\)\]]")
STOPWORDS = frozenset({"the", "a", "an", "and", "of", "de", "la", "le", "el", "feat", "ft"})


def fold_accents(text: str) -> str:
    """'Beyoncé' -> 'Beyonce'."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def collapse_spaces(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def strip_punctuation(text: str) -> str:
    return _PUNCT.sub(" ", text)


def strip_brackets(text: str) -> str:
    """'Song (Live) [2011 Remaster]' -> 'Song'."""
    return _BRACKETS.sub("", text)


def strip_stopwords(tokens: list[str]) -> list[str]:
    kept = [t for t in tokens if t not in STOPWORDS]
    return kept or tokens


def normalize_title(title: str) -> str:
    """The comparable form of a title: no brackets, accents, punctuation or case."""
    text = strip_brackets(title)
    text = fold_accents(text).casefold()
    text = strip_punctuation(text)
    return collapse_spaces(text)


def tokens(text: str) -> list[str]:
    return strip_stopwords(normalize_title(text).split())
