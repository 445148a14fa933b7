"""The results table: loading an export and filtering it, as the results view does."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from trackmatch.text import fold

_TEXT_COLUMNS = ["artist", "title", "mix", "matched_artists", "label"]


def load_results(path: str | Path) -> pd.DataFrame:
    """An exported results CSV, typed, best scores first, with a folded search column."""
    frame = pd.read_csv(path, keep_default_na=False, dtype={"catalogue_id": str, "key": str})
    frame["release_date"] = pd.to_datetime(
        frame["release_date"], format="%Y-%m-%d", errors="coerce"
    )
    text = frame[_TEXT_COLUMNS[0]].str.cat(frame[_TEXT_COLUMNS[1:]], sep=" ")
    frame["search_key"] = text.map(fold)
    return frame.sort_values("score", ascending=False, kind="stable").reset_index(drop=True)


def filter_results(
    frame: pd.DataFrame, text: str = "", min_score: float = 0.0, genre: str | None = None
) -> pd.DataFrame:
    """Rows whose text contains `text` (accents and case ignored), above a score, of a genre."""
    mask = frame["score"] >= min_score
    if genre:
        mask &= frame["genre"] == genre
    if text:
        mask &= frame["search_key"].str.contains(fold(text), regex=False)
    return frame[mask]
