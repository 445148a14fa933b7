"""Runs inside Otava's own venv: JSON series on stdin -> change point indices on stdout.

Otava's defaults as its CLI has them (window 50, max p-value 0.001, min magnitude 0).
Imports nothing from perfkit (perfkit is not installed in that venv).
"""

import json
import sys

from otava.analysis import compute_change_points


def main() -> None:
    data = json.load(sys.stdin)
    out = []
    for series in data["series"]:
        points, _ = compute_change_points(
            series, window_len=50, max_pvalue=0.001, min_magnitude=0.0
        )
        out.append(sorted(int(p.index) for p in points))
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
