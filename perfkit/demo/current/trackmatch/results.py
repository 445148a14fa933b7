"""The results table: loading an export and filtering it, as the results view does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from trackmatch.text import search_text

_TEXT_COLUMNS = ["artist", "title", "mix", "matched_artists", "label"]


def load_results(path: str | Path) -> pd.DataFrame:
    """An exported results CSV, typed, best scores first."""
    frame = pd.read_csv(path, keep_default_na=False, dtype={"catalogue_id": str, "key": str})
    frame["release_date"] = pd.to_datetime(
        frame["release_date"], format="%Y-%m-%d", errors="coerce"
    )
    return frame.sort_values("score", ascending=False, kind="stable").reset_index(drop=True)


def filter_results(
    frame: pd.DataFrame, text: str = "", min_score: float = 0.0, genre: str | None = None
) -> pd.DataFrame:
    """Rows whose text contains `text` (accents and case ignored), above a score, of a genre."""
    needle = search_text(text)
    columns = [frame[column].tolist() for column in ("score", "genre", *_TEXT_COLUMNS)]
    rows = zip(*columns, strict=True)
    keep = [_row_matches(row, needle, min_score, genre) for row in rows]
    return frame[keep]


def _row_matches(row: tuple[Any, ...], needle: str, min_score: float, genre: str | None) -> bool:
    score, row_genre, *texts = row
    if score < min_score or (genre and row_genre != genre):
        return False
    return not needle or needle in search_text(" ".join(texts))
