"""Self-benchmark: the harness's reported time for an empty callable next to timeit.

Both run in this process on the same callable, alternating, so machine drift hits
both alike. The difference is perfkit's per-call overhead beyond timeit's own loop.
"""

from __future__ import annotations

import argparse
import statistics
import timeit

from perfkit.collect.timing import measure


def _empty() -> None:
    return None


def perfkit_ns(body=_empty) -> float:
    """Median ns/call reported by perfkit's timing pass (calibrated loops, samples)."""
    payload = measure(
        body, {"min_sample_seconds": 0.02, "samples": 5, "warmups": 1, "worker_seconds": 1.0}
    )
    return statistics.median(payload["samples"]) * 1e9


def timeit_ns(body=_empty, loops: int = 1_000_000) -> float:
    """Median ns/call of timeit on the same callable (best practice: several repeats)."""
    timer = timeit.Timer(body)
    return statistics.median(t / loops for t in timer.repeat(repeat=5, number=loops)) * 1e9


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m perfkit.selfbench overhead")
    parser.add_argument("--rounds", type=int, default=7, help="alternating perfkit/timeit rounds")
    args = parser.parse_args(argv)
    ours, theirs = [], []
    for _ in range(args.rounds):
        ours.append(perfkit_ns())
        theirs.append(timeit_ns())
    ours_ns, theirs_ns = statistics.median(ours), statistics.median(theirs)
    diffs = sorted(a - b for a, b in zip(ours, theirs, strict=True))
    print("empty callable, ns per call (median of rounds)")
    print(f"  perfkit timing pass : {ours_ns:8.1f} ns")
    print(f"  timeit (same fn)    : {theirs_ns:8.1f} ns")
    print(
        f"  overhead vs timeit  : {ours_ns - theirs_ns:+8.1f} ns (per-round range {diffs[0]:+.1f} .. {diffs[-1]:+.1f})"
    )
    print(f"  ratio perfkit/timeit: {ours_ns / theirs_ns:8.3f}")
    verdict = "met" if ours_ns - theirs_ns <= 50 else "MISSED"
    print(f"  goal <= 50 ns/call overhead: {verdict}")


if __name__ == "__main__":
    main()
