"""Self-benchmark: loading and diffing two large profiles next to bare `pstats.Stats` loads.

Two synthetic 10 k-function pstats files (same shape as cProfile's) are written once;
then rounds alternate `2 × pstats.Stats(path)` with `2 × load_profile + diff_profiles`,
so machine drift hits both alike. Goal: perfkit at most 1.5× the bare pstats loads.
"""

from __future__ import annotations

import argparse
import marshal
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

GOAL_RATIO = 1.5


def synthetic_stats(
    n_functions: int = 10_000,
    *,
    seed: int = 0,
    root: str = "/checkout/app",
    slower: dict[int, float] | None = None,
    callers_per_function: int = 3,
) -> dict[tuple[str, int, str], tuple[Any, ...]]:
    """A pstats dict shaped like cProfile's: ``{(file, line, name): (cc, nc, tt, ct, callers)}``.

    Function 0 is the root; function i > 0 is called by up to `callers_per_function`
    earlier functions. `slower` multiplies the own time of chosen functions (a
    regression). Deterministic for a given seed.
    """
    rng = random.Random(seed)
    slower = slower or {}
    n_files = max(1, n_functions // 20)
    keys: list[tuple[str, int, str]] = []
    for i in range(n_functions):
        if i % 50 == 7:
            keys.append(("~", 0, f"<built-in method builtins.fn_{i}>"))
        else:
            file = f"{root}/pkg{i % n_files // 50}/module_{i % n_files}.py"
            keys.append((file, 10 + (i // n_files) * 7, f"func_{i}"))
    stats: dict[tuple[str, int, str], tuple[Any, ...]] = {}
    for i, key in enumerate(keys):
        ncalls = rng.randint(1, 5000)
        primcalls = ncalls if i % 37 else max(1, ncalls // 3)
        tottime = rng.random() * 1e-3 * slower.get(i, 1.0)
        cumtime = tottime * (1.0 + rng.random() * 3.0)
        callers: dict[tuple[str, int, str], tuple[int, int, float, float]] = {}
        if i:
            for _ in range(rng.randint(1, callers_per_function)):
                j = rng.randrange(0, i)
                share = rng.random()
                callers[keys[j]] = (
                    max(1, int(ncalls * share)),
                    max(1, int(primcalls * share)),
                    tottime * share,
                    cumtime * share,
                )
        stats[key] = (primcalls, ncalls, tottime, cumtime, callers)
    return stats


def write_stats(stats: dict[Any, Any], path: Path) -> Path:
    with open(path, "wb") as handle:
        marshal.dump(stats, handle)
    return path


def _seconds(action: Any) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    import pstats

    from perfkit.analysis.profiles import diff_profiles, load_profile

    parser = argparse.ArgumentParser(prog="python -m perfkit.selfbench profiles")
    parser.add_argument("--functions", type=int, default=10_000, help="functions per profile")
    parser.add_argument("--rounds", type=int, default=7, help="alternating rounds")
    args = parser.parse_args(argv)
    root = "/checkout/app"
    with tempfile.TemporaryDirectory(prefix="perfkit-selfbench-") as tmp:
        base = write_stats(synthetic_stats(args.functions, seed=1, root=root), Path(tmp) / "a.prof")
        current = write_stats(
            synthetic_stats(args.functions, seed=1, root=root, slower={42: 5.0}),
            Path(tmp) / "b.prof",
        )

        def bare() -> None:
            pstats.Stats(str(base))
            pstats.Stats(str(current))

        def ours() -> float:
            """Runs load + diff; returns the seconds spent in diff_profiles alone."""
            left, right = load_profile(base, root), load_profile(current, root)
            diff_seconds = _seconds(lambda: diff_profiles(left, right))
            return diff_seconds

        ours()  # warm imports and caches on both sides
        bare()
        theirs_s: list[float] = []
        ours_s: list[float] = []
        diff_s: list[float] = []
        for _ in range(args.rounds):
            theirs_s.append(_seconds(bare))
            start = time.perf_counter()
            diff_s.append(ours())
            ours_s.append(time.perf_counter() - start)
    ratios = sorted(o / t for o, t in zip(ours_s, theirs_s, strict=True))
    theirs_med, ours_med = statistics.median(theirs_s), statistics.median(ours_s)
    ratio = ours_med / theirs_med
    print(f"two {args.functions}-function profiles, median of {args.rounds} alternating rounds")
    print(f"  2 x pstats.Stats load            : {theirs_med * 1e3:8.1f} ms")
    print(f"  2 x load_profile + diff_profiles : {ours_med * 1e3:8.1f} ms")
    print(f"    of which diff_profiles         : {statistics.median(diff_s) * 1e3:8.1f} ms")
    print(
        f"  ratio perfkit/pstats             : {ratio:8.2f}"
        f"  (per-round {ratios[0]:.2f} .. {ratios[-1]:.2f})"
    )
    met = ratio <= GOAL_RATIO
    print(f"  goal <= {GOAL_RATIO}x: {'met' if met else 'MISSED'}")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
