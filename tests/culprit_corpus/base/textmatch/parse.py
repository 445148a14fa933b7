"""Parsing catalogue lines: 'Artist A & Artist B - Title (feat. C) [Remix]'."""

from __future__ import annotations

import re
from dataclasses import dataclass

from textmatch.normalize import collapse_spaces

_SEPARATOR = re.compile(r"\s+[-–—]\s+")
_FEATURING = re.compile(r"\s*[\(\[]?\b(?:feat\.?|ft\.?|featuring)\s+([^\)\]]+)[\)\]]?", re.I)
_ARTIST_SPLIT = re.compile(r"\s*(?:,|&|\band\b|\bx\b|\bvs\.?)\s*", re.I)
_VERSION = re.compile(
    r"[\(\[]([^\)\]]*(?:remix|mix|edit|version|live|remaster)[^\)\]]*)[\)\]]", re.I
)


@dataclass(frozen=True)
class Record:
    artists: tuple[str, ...]
    title: str
    version: str
    featuring: tuple[str, ...]


def split_artists(text: str) -> list[str]:
    """'A, B & C' -> ['A', 'B', 'C']."""
    parts = _ARTIST_SPLIT.split(text)
    return [collapse_spaces(p) for p in parts if p.strip()]


def extract_featuring(title: str) -> tuple[str, list[str]]:
    match = _FEATURING.search(title)
    if match is None:
        return title, []
    rest = title[: match.start()] + title[match.end() :]
    return collapse_spaces(rest), split_artists(match.group(1))


def extract_version(title: str) -> tuple[str, str]:
    match = _VERSION.search(title)
    if match is None:
        return title, ""
    rest = title[: match.start()] + title[match.end() :]
    return collapse_spaces(rest), match.group(1).strip()


def parse_line(line: str) -> Record:
    """One catalogue line into a record; a line without a separator is all title."""
    parts = _SEPARATOR.split(line, maxsplit=1)
    if len(parts) == 2:
        artist_text, title = parts
    else:
        artist_text, title = "", parts[0]
    title, featuring = extract_featuring(title)
    title, version = extract_version(title)
    artists = split_artists(artist_text) if artist_text else []
    return Record(tuple(artists), title, version, tuple(featuring))


def parse_lines(lines: list[str]) -> list[Record]:
    return [parse_line(line) for line in lines if line.strip()]
