"""The demo suite under a real `perfkit run` on both versions of trackmatch (shared by the
demo and UI tests): one call, one loaded run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from perfkit.demo import BASELINE_DIR, CURRENT_DIR, SUITE_PATH, datagen
from perfkit.rundir import Run, load_run


def run_demo_suite(data_dir: Path, cwd: Path, *options: str) -> Run:
    """`perfkit run` of the demo suite, baseline and current, --quick, with `options` (e.g.
    --workers, --only); the demo data in `data_dir`, the run directory under ``cwd/runs``."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "perfkit",
            "run",
            str(SUITE_PATH),
            "--target",
            f"baseline={BASELINE_DIR}",
            "--target",
            f"current={CURRENT_DIR}",
            "--quick",
            *options,
            "--out",
            str(cwd / "runs"),
        ],
        cwd=cwd,
        env={**os.environ, datagen.DATA_DIR_ENV: str(data_dir)},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return load_run(Path(done.stdout.strip().splitlines()[-1]))
