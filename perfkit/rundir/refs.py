"""Run references and sides: which run directory a reference names, and which of a
run's targets is the baseline and which the current. The only place for these rules.

A reference is a run id, a run directory, ``latest`` (the most recently created run),
or any of those with ``:LABEL``. Sides of one run: the baseline is the target labelled
``baseline``, else the first target; the current is the target labelled ``current``,
else the first other target; ``--baseline``/``--current`` (or ``RUN:LABEL``) override
either. Across two runs each run needs its role's label or a single target. Stdlib only.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

from perfkit.errors import PerfkitError, RunDirError
from perfkit.rundir.schema import RUN_JSON

DEFAULT_RUNS_DIR = Path("data") / "runs"
ROLES = ("baseline", "current")


def _created_seconds(path: Path) -> float:
    """When a run was created (run.json's ``created``; its id for old or unreadable ones)."""
    try:
        created = json.loads((path / RUN_JSON).read_text(encoding="utf-8")).get("created")
        stamp = datetime.fromisoformat(created)
    except (OSError, ValueError, TypeError, AttributeError):
        try:
            stamp = datetime.strptime(path.name[:15], "%Y%m%dT%H%M%S")
        except ValueError:
            return 0.0
    return (stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)).timestamp()


def run_dirs(runs_dir: Path) -> list[Path]:
    """The run directories under `runs_dir`, oldest first (by creation time, then id)."""
    found = [p for p in Path(runs_dir).glob("*") if (p / RUN_JSON).is_file()]
    return sorted(found, key=lambda p: (_created_seconds(p), p.name))


def resolve_run_path(ref: str | Path, runs_dir: Path = DEFAULT_RUNS_DIR) -> Path:
    """A run id, a run directory, or ``latest`` -> the run directory's path."""
    text = str(ref)
    if text == "latest":
        runs = run_dirs(runs_dir)
        if not runs:
            raise RunDirError(f"no runs in {runs_dir} (run `perfkit run` first)")
        return runs[-1]
    for candidate in (Path(text), Path(runs_dir) / text):
        if (candidate / RUN_JSON).is_file():
            return candidate
    raise RunDirError(f"run not found: {text} (not a run directory, nor a run id in {runs_dir})")


def split_run_ref(ref: str | Path, runs_dir: Path = DEFAULT_RUNS_DIR) -> tuple[Path, str | None]:
    """``RUN`` or ``RUN:LABEL`` -> (run directory, label or None)."""
    text = str(ref)
    try:
        return resolve_run_path(text, runs_dir), None
    except RunDirError as exc:
        if ":" not in text or "run not found" not in str(exc):
            raise
    run_text, _, label = text.rpartition(":")
    if not run_text or not label:
        raise PerfkitError(f"bad run reference {text!r}: expected RUN or RUN:LABEL")
    return resolve_run_path(run_text, runs_dir), label


def check_label(labels: Sequence[str], label: str, run_id: str) -> str:
    if label not in labels:
        raise PerfkitError(
            f"run {run_id} has no target {label!r} (targets: {', '.join(labels) or 'none'})"
        )
    return label


def pick_sides(
    labels: Sequence[str],
    baseline: str | None = None,
    current: str | None = None,
    *,
    run_id: str,
) -> tuple[str, str]:
    """(baseline, current) labels within one run, by the rule in this module's docstring."""
    if len(labels) < 2:
        raise PerfkitError(
            f"run {run_id} has one target ({', '.join(labels) or 'none'}): "
            "give a CURRENT run to compare with"
        )
    for given in (baseline, current):
        if given is not None:
            check_label(labels, given, run_id)
    if baseline is None:
        others = [x for x in labels if x != current]
        baseline = "baseline" if "baseline" in others else others[0]
    if current is None:
        others = [x for x in labels if x != baseline]
        current = "current" if "current" in others else others[0]
    if baseline == current:
        raise PerfkitError(
            f"baseline and current are the same: {run_id}:{baseline} (pick two labels)"
        )
    return baseline, current


def pick_label(labels: Sequence[str], role: str, run_id: str) -> str:
    """The label playing `role` in a run compared with another run: its only target or
    the one named after the role; otherwise the user must say which."""
    if len(labels) == 1:
        return labels[0]
    if role in labels:
        return role
    raise PerfkitError(
        f"run {run_id} has targets {', '.join(labels) or 'none'}: say which is the {role} "
        f"with {run_id}:LABEL or --{role} LABEL"
    )
