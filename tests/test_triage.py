"""A thousand benchmarks in front of a reader: reading order, groups and figures that stay
readable (a row cap, a distribution of the rest, a pixel cap on saved figures)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from perfkit.analysis.triage import by_importance, change_groups, changed, not_unchanged, rest
from perfkit.render import plots


def _table(n: int, seed: int = 0) -> pd.DataFrame:
    """A comparison table of n benchmarks (10 params per name); one in ten 15 % slower."""
    rng = np.random.default_rng(seed)
    ratio = np.exp(rng.normal(0, 0.01, n))
    verdict = np.array(["unchanged"] * n, dtype=object)
    verdict[::10] = "regression"
    ratio[::10] = 1.15 + 0.01 * rng.random(len(ratio[::10]))
    verdict[5] = "faster"
    ratio[5] = 0.97
    verdict[7] = "inconclusive"
    return pd.DataFrame(
        {
            "id": [f"bench_{i // 10}[n={i % 10}]" for i in range(n)],
            "benchmark": [f"bench_{i // 10}" for i in range(n)],
            "params": [f"n={i % 10}" for i in range(n)],
            "ratio": ratio,
            "ci_low": ratio * 0.98,
            "ci_high": ratio * 1.02,
            "verdict": verdict,
            "change_text": [f"{(r - 1) * 100:+.1f} %" for r in ratio],
        }
    )


def test_reading_order_and_split() -> None:
    table = _table(100)
    ordered = by_importance(table)
    assert list(ordered["verdict"][:10]) == ["regression"] * 10
    assert list(ordered["ratio"][:10]) == sorted(ordered["ratio"][:10], reverse=True)
    assert list(ordered["verdict"][10:12]) == ["faster", "inconclusive"]
    assert len(changed(table)) == 11 and len(rest(table)) == 89
    assert len(not_unchanged(table)) == 12


def test_changes_grouped_by_benchmark_name() -> None:
    table = _table(100)
    groups = change_groups(table)
    assert groups["benchmark"].iloc[0] == changed(table)["benchmark"].iloc[0]  # biggest first
    assert groups["n_changed"].sum() == len(changed(table))
    first = groups[groups["benchmark"] == "bench_0"].iloc[0]
    assert first["n_changed"] == 2 and first["n_benchmarks"] == 10
    assert first["verdicts"] == "1 regression, 1 faster"


def test_the_ratio_figure_of_a_thousand_benchmarks_stays_readable(tmp_path: Path) -> None:
    table = _table(1000)
    fig = plots.ratio_plot(table, 0.10)
    top, bottom = fig.axes
    assert len(top.get_yticks()) == plots.PLOT_ROWS
    assert "distribution" in bottom.get_title() and "960" in bottom.get_title()
    path = plots.save_figure(fig, tmp_path / "ratio.png")
    with Image.open(path) as image:
        assert max(image.size) <= plots.MAX_FIGURE_PX


def test_a_small_ratio_figure_is_as_before() -> None:
    table = _table(10)
    fig = plots.ratio_plot(table, 0.10)
    assert len(fig.axes) == 1 and len(fig.axes[0].get_yticks()) == 10
    assert fig.get_size_inches()[1] == plots._height(10)


def test_saved_figures_are_capped_on_their_long_side(tmp_path: Path) -> None:
    medians = pd.DataFrame(
        {
            "id": np.repeat([f"b{i}" for i in range(200)], 3),
            "series": "current",
            "median_seconds": np.random.default_rng(1).lognormal(-7, 0.1, 600),
        }
    )
    fig = plots.timing_distribution(medians)
    assert len(fig.axes[0].get_yticks()) == plots.PLOT_ROWS
    tall = plots.empty_figure("x")
    tall.set_size_inches(9, 120)
    path = plots.save_figure(tall, tmp_path / "tall.png")
    with Image.open(path) as image:
        assert max(image.size) <= plots.MAX_FIGURE_PX
