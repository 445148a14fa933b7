"""What a report writes beside its markdown: figures with their manifest, small CSV tables
and comparison.json, under one output directory.

`ReportFiles` knows the layout (figures/, data/, notebooks/) and writes atomically; it
computes nothing and formats nothing. Notebook views save through it; the document and
the pipeline read the manifest and the layout from it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from perfkit.analysis.comparison import Comparison
from perfkit.rundir import atomic_write_json, atomic_write_text, safe_filename

FIGURES_DIR = "figures"
DATA_DIR = "data"
NOTEBOOKS_DIR = "notebooks"
COMPARISON_JSON = "comparison.json"
MANIFEST = "figures.json"
SECTIONS = {  # figure-name prefix -> report section
    "ratio": "timings",
    "timing": "timings",
    "scaling": "scaling",
    "callgraph": "profiles",
    "icicle": "profiles",
    "profile": "profiles",
    "memory": "memory",
}
# The report lists figures in this order of sections (the notebooks' order), whichever
# notebook finished first.
SECTION_ORDER = ("timings", "scaling", "profiles", "memory")


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive flock on `path` (created if missing) for the block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@dataclass(frozen=True)
class SavedFigure:
    """A figure written as PNG; displays as that image in a notebook."""

    path: Path
    caption: str

    def _repr_png_(self) -> bytes:
        return self.path.read_bytes()


@dataclass(frozen=True)
class ReportFiles:
    """The files of one report directory."""

    out_dir: Path

    @property
    def figures_dir(self) -> Path:
        return self.out_dir / FIGURES_DIR

    @property
    def data_dir(self) -> Path:
        return self.out_dir / DATA_DIR

    @property
    def notebooks_dir(self) -> Path:
        return self.out_dir / NOTEBOOKS_DIR

    def figure_path(self, name: str, suffix: str = ".png") -> Path:
        """Where figure `name` goes: ``figures/<safe name><suffix>``."""
        return self.figures_dir / f"{safe_filename(name)}{suffix}"

    def save_figure(
        self, fig: Any, name: str, caption: str = "", benchmark: str | None = None
    ) -> SavedFigure:
        """Write `fig` to ``figures/<name>.png``, note it in the figure manifest, return it."""
        from perfkit.render.plots import save_figure

        path = save_figure(fig, self.figure_path(name))
        return self.save_image(path, caption or name, benchmark)

    def save_image(self, path: Path, caption: str, benchmark: str | None = None) -> SavedFigure:
        """Note an image written under ``figures/`` in the manifest (section from its name).

        Notebooks run side by side (`perfkit.report.pipeline`), each lane in its own kernel,
        so the manifest's read-modify-write holds a lock file beside it."""
        with _locked(self.data_dir / f".{MANIFEST}.lock"):
            manifest = self.figures()
            manifest[path.name] = {
                "file": f"{FIGURES_DIR}/{path.name}",
                "caption": caption,
                "section": next(
                    (s for p, s in SECTIONS.items() if path.stem.startswith(p)), "other"
                ),
                "benchmark": benchmark,
            }
            atomic_write_json(self.data_dir / MANIFEST, manifest)
        return SavedFigure(path, caption)

    def figures(self) -> dict[str, dict[str, str]]:
        """The figure manifest: file name -> file (relative to out_dir), caption, section;
        in `SECTION_ORDER`, each section's figures in the order they were saved."""
        path = self.data_dir / MANIFEST
        if not path.is_file():
            return {}
        manifest = json.loads(path.read_text(encoding="utf-8"))
        rank = {section: i for i, section in enumerate(SECTION_ORDER)}
        kept = [(k, v) for k, v in manifest.items() if (self.out_dir / v["file"]).is_file()]
        kept.sort(key=lambda item: rank.get(item[1].get("section", ""), len(rank)))
        return dict(kept)

    def save_table(self, frame: pd.DataFrame, name: str) -> Path:
        """Write a table as ``data/<name>.csv`` (a small artifact beside the report)."""
        path = self.data_dir / f"{name}.csv"
        atomic_write_text(path, frame.to_csv(index=False))
        return path

    def write_comparison_json(self, comparison: Comparison | None) -> Path | None:
        """``OUT/comparison.json`` (where DESIGN.md puts it): the reviewer's shape."""
        if comparison is None:
            return None
        return comparison.write_json(self.out_dir / COMPARISON_JSON)
