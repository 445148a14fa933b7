"""The noise a bisect step fights: per-round log ratios of the bisect benchmark, +5 % vs good.

Builds the two-commit repository of `perfkit.selfbench._bisect_repo` (commit 1 slows
``score`` so that the benchmark is 5 % slower) and measures good against it in ordinary
interleaved fixed runs, one run per worker shape (``SAMPLES:WORKER_SECONDS:MODE``, MODE
``pp``: a round's workers in ping-pong, two rounds at once as bisect runs them; ``seq``: one
worker after another, one round at a time, as bisect did before). Prints per shape: wall time per round, the median and spread of the per-round log ratios (SD, and
1.4826 × MAD, the spread without the outlying rounds) and the ratio with CI bisect would
compute. This is what chose `BISECT_PLAN`'s 15 samples and its ping-pong rounds. Run it under the heavy lock:
``flock /tmp/perfkit-heavy.lock python -m perfkit.selfbench bisect_noise``.
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from rich.console import Console

from perfkit.bisect.measure import estimate_logs, per_round, round_logs
from perfkit.bisect.search import BISECT_PLAN
from perfkit.collect.commits import commit_target
from perfkit.collect.git import commit_facts
from perfkit.config import default_processes
from perfkit.rundir import load_run
from perfkit.selfbench._bisect_repo import make_bisect_repo


def shape(text: str) -> tuple[int, float, str]:
    samples, seconds, *mode = text.split(":")
    if mode and mode[0] not in ("pp", "seq"):
        raise argparse.ArgumentTypeError(f"mode must be pp or seq, not {mode[0]!r}")
    return int(samples), float(seconds), mode[0] if mode else "pp"


def main(argv: list[str] | None = None) -> int:
    from perfkit.collect.scheduler import run_suite

    p = argparse.ArgumentParser(prog="python -m perfkit.selfbench bisect_noise")
    p.add_argument("--rounds", type=int, default=16)
    p.add_argument("--slowdown", type=float, default=0.05)
    p.add_argument(
        "shapes",
        nargs="*",
        type=shape,
        default=[(15, 0.6, "seq"), (15, 0.6, "pp")],
        help="SAMPLES:SECONDS[:pp|seq]",
    )
    args = p.parse_args(argv)
    print(
        f"good vs +{args.slowdown:.0%}, {args.rounds} interleaved rounds per shape\n\n"
        "| samples | worker s | rounds | s/round | log ratio median | SD | 1.4826·MAD "
        "| ratio [95 % CI] |\n|---|---|---|---|---|---|---|---|",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="perfkit-bisect-noise-") as tmp:
        where = Path(tmp)
        repo = make_bisect_repo(where, commits=1, slow_at=1, slowdown=args.slowdown, seed=0)
        commits = [commit_facts(repo.path, sha) for sha in repo.shas]
        targets = [commit_target(repo.path, c, "current") for c in commits]
        labels = (targets[0].label, targets[1].label)
        for samples, seconds, mode in args.shapes:
            plan = replace(
                BISECT_PLAN,
                samples=samples,
                pingpong_samples=samples,  # its shapes set the ping-pong steps too
                worker_seconds=seconds,
                workers=args.rounds,
                pingpong=mode == "pp",
            )
            started = time.monotonic()
            result = run_suite(
                str(repo.suite),
                targets,
                where / "runs",
                plan=plan,
                processes=default_processes(plan, len(targets)),
                only="pipeline",
                seed=1,
                console=Console(file=io.StringIO()),
                db=str(where / "history.sqlite"),
            )
            wall = time.monotonic() - started
            rounds = round_logs([load_run(result.path)], labels, "pipeline")
            ratio = per_round(rounds, {1: 1.0, 0: -1.0})
            est = estimate_logs(ratio)
            mad = 1.4826 * np.median(np.abs(ratio - np.median(ratio)))
            print(
                f"| {samples} | {seconds:g} {mode} | {len(ratio)} | {wall / max(1, len(ratio)):.2f} | "
                f"{np.median(ratio):+.4f} | {ratio.std(ddof=1):.4f} | {mad:.4f} | "
                f"{est.ratio:.4f} [{est.ci_low:.4f}–{est.ci_high:.4f}] |",
                flush=True,
            )
    return 0
