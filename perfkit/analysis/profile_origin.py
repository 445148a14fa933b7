"""Where a `.prof` file came from: the run directory around it, if any.

A profile written by `perfkit run` sits at ``<run>/profiles/<target>/<id>.prof``; the run
records the target's root (run.json) and the scenario calls it covers (profiles.csv).
Reads through perfkit.rundir only; knows nothing of profile contents.
"""

from __future__ import annotations

from pathlib import Path


def recorded_in_run(path: Path) -> tuple[str | None, int]:
    """(target root, scenario calls) of a `.prof` inside a run directory; (None, 1) elsewhere."""
    from perfkit.rundir import PROFILES_DIR, RUN_JSON, RunDirError, load_run

    resolved = path.resolve()
    parents = resolved.parents
    if len(parents) < 3 or parents[1].name != PROFILES_DIR:
        return None, 1
    run_dir = parents[2]
    if not (run_dir / RUN_JSON).is_file():
        return None, 1
    try:
        run = load_run(run_dir)
    except RunDirError:
        return None, 1
    relative = str(resolved.relative_to(run_dir.resolve()))
    for file, target, calls in zip(
        run.profiles["file"], run.profiles["target"], run.profiles["calls"], strict=True
    ):
        if str(file) == relative:
            root = run.meta.get("targets", {}).get(target, {}).get("path")
            return root, max(1, int(calls))
    return None, 1
