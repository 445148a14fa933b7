"""Reading a Rekordbox XML export: the collection and its playlists."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from trackmatch.models import Track
from trackmatch.text import split_mix


def _number(text: str | None, kind: type[float] | type[int]) -> float | int | None:
    try:
        return kind(text) if text else None
    except ValueError:
        return None


def _track(node: ET.Element) -> Track:
    title, mix = split_mix(node.get("Name", ""))
    return Track(
        track_id=node.get("TrackID", ""),
        artist=node.get("Artist", ""),
        title=title,
        mix=node.get("Mix") or mix,
        key=node.get("Tonality", ""),
        bpm=_number(node.get("AverageBpm"), float),
        year=_number(node.get("Year"), int),
    )


def read_library(path: str | Path) -> dict[str, list[Track]]:
    """Playlists by name, each a list of tracks in playlist order."""
    root = ET.parse(path).getroot()
    collection = root.find("COLLECTION")
    tracks = {t.get("TrackID"): _track(t) for t in (collection if collection is not None else [])}
    playlists: dict[str, list[Track]] = {}
    for node in root.iter("NODE"):
        if node.get("Type") == "1":
            playlists[node.get("Name", "")] = [tracks[t.get("Key")] for t in node.iter("TRACK")]
    return playlists
