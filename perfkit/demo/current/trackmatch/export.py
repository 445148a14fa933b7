"""Exporting match results to CSV and JSON."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from trackmatch.models import RESULT_COLUMNS, MatchResult

from perfkit.monitor import measure_time


@measure_time(threshold=2.0)
def export_csv(results: list[MatchResult], path: str | Path) -> Path:
    path = Path(path)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=RESULT_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(result.to_row() for result in results)
    return path


@measure_time(threshold=2.0)
def export_json(results: list[MatchResult], path: str | Path) -> Path:
    path = Path(path)
    payload = {
        "count": len(results),
        "matched": sum(result.matched for result in results),
        "results": [result.to_row() for result in results],
    }
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=2), encoding="utf-8")
    return path
