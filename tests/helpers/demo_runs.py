"""`perfkit demo --quick` (the whole chain, on both versions of trackmatch), which the
`demo_quick` session fixture runs once for every slow demo and UI test that checks it,
even when those tests run on two xdist workers.

It measures the scenarios those tests check (the regression, the monitor's cache figures,
the UI, a playlist, an export, a budget): not the largest playlists, whose workers cost
the most and which the demo's own runs cover."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from helpers.machine import alone, stepping_aside
from perfkit.demo import datagen
from perfkit.rundir import Run, load_run


@dataclass(frozen=True)
class DemoQuick:
    """One `perfkit demo --quick` (the whole chain) that several slow tests check."""

    done: subprocess.CompletedProcess[str]
    cwd: Path
    data_dir: Path

    @property
    def reports(self) -> Path:
        return self.cwd / "reports"

    def run(self) -> Run:
        (path,) = (self.cwd / "runs").iterdir()
        return load_run(path)


# `?` stands for a bracket: a glob's [...] is a character class.
CHECKED_SCENARIOS = (
    "process_playlist?n=10?",
    "export_csv",
    "search_cache_*",
    "filter_results",
    "load_ui",
    "update_results_view",
    "apply_filter",
)


def demo_quick(cwd: Path) -> DemoQuick:
    """Run `perfkit demo --quick` on `CHECKED_SCENARIOS` in `cwd` (data in ``cwd/demo-data``,
    runs in ``cwd/runs``)."""
    data_dir = cwd / "demo-data"
    only = ",".join(CHECKED_SCENARIOS)
    runs = str(cwd / "runs")
    done = subprocess.run(
        [sys.executable, "-m", "perfkit", "demo", "--quick", "--only", only, "--runs-dir", runs],
        cwd=cwd,
        env={**os.environ, datagen.DATA_DIR_ENV: str(data_dir)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return DemoQuick(done, cwd, data_dir)


def shared_demo_quick(cwd: Path) -> DemoQuick:
    """`demo_quick(cwd)` once for every process that asks: the first runs it, under a file
    lock, and records its outcome; the others wait for the lock and read it back."""
    cwd.mkdir(parents=True, exist_ok=True)
    outcome = cwd / "outcome.json"
    with (cwd.parent / f"{cwd.name}.lock").open("a") as lock:
        with stepping_aside():  # the other worker may be building it alone
            fcntl.flock(lock, fcntl.LOCK_EX)
        if outcome.is_file():
            kept = json.loads(outcome.read_text(encoding="utf-8"))
            done = subprocess.CompletedProcess(
                kept["args"], kept["returncode"], kept["stdout"], kept["stderr"]
            )
            return DemoQuick(done, cwd, cwd / "demo-data")
        with alone():
            result = demo_quick(cwd)
        kept = {
            key: getattr(result.done, key) for key in ("args", "returncode", "stdout", "stderr")
        }
        outcome.write_text(json.dumps(kept), encoding="utf-8")
        return result
