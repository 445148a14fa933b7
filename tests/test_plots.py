"""perfkit.render.plots on small synthetic tables: what each figure shows, names drawn as text."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from perfkit.render import plots


def _medians() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    rows = []
    for n in (10, 20, 40):
        for series, factor in (("baseline", 1.0), ("current", 1.5)):
            for worker in range(4):
                rows.append(
                    {
                        "id": f"f[n={n}]",
                        "benchmark": "f",
                        "params": f"n={n}",
                        "series": series,
                        "worker": worker,
                        "median_seconds": 1e-6 * n * factor * rng.uniform(0.95, 1.05),
                    }
                )
    return pd.DataFrame(rows)


def _texts(fig: Figure) -> list[str]:
    fig.canvas.draw()
    out = [t.get_text() for t in fig.findobj(match=lambda a: hasattr(a, "get_text"))]
    return [t for t in out if t]


def test_timing_distribution_one_row_per_benchmark_and_both_series():
    fig = plots.timing_distribution(_medians())
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["f[n=10]", "f[n=20]", "f[n=40]"]
    assert ax.get_xscale() == "log"
    assert {t.get_text() for t in ax.get_legend().get_texts()} == {"baseline", "current"}


def test_ratio_plot_shades_the_threshold_band_and_writes_the_change_in_words():
    table = pd.DataFrame(
        {
            "id": ["a", "<lambda>"],
            "ratio": [1.5, 0.98],
            "ci_low": [1.4, 0.9],
            "ci_high": [1.6, 1.07],
            "verdict": ["regression", "inconclusive"],
            "change_text": ["1.5× slower", "-2.0 % faster"],
        }
    )
    fig = plots.ratio_plot(table, 0.10)
    ax = fig.axes[0]
    band = [p for p in ax.patches if p.get_label().startswith("±10%")]
    assert band, "threshold band missing"
    # axvspan gives a Polygon before matplotlib 3.9 and a Rectangle since: read its corners.
    xs = band[0].get_patch_transform().transform(band[0].get_path().vertices)[:, 0]
    assert (xs.min(), xs.max()) == pytest.approx((0.9, 1.1))
    texts = _texts(fig)
    assert "1.5× slower (regression)" in texts
    assert "<lambda>" in [t.get_text() for t in ax.get_yticklabels()]


def test_scaling_plot_draws_the_fitted_exponent_per_series():
    fits = pd.DataFrame(
        {
            "benchmark": ["f", "f"],
            "param": ["n", "n"],
            "series": ["baseline", "current"],
            "k": [1.0, 1.3],
            "k_ci_low": [0.95, 1.2],
            "k_ci_high": [1.05, 1.4],
            "a": [1e-6, 1e-6],
        }
    )
    fig = plots.scaling_plot(_medians(), fits)
    ax = fig.axes[0]
    assert ax.get_xscale() == ax.get_yscale() == "log"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["baseline: k = 1.00 [0.95, 1.05]", "current: k = 1.30 [1.20, 1.40]"]
    assert [float(t) for t in ax.get_xticks()] == [10.0, 20.0, 40.0]


def test_memory_figures_mark_the_leak():
    memory = pd.DataFrame(
        {
            "id": ["g", "g"],
            "series": ["baseline", "current"],
            "peak_rss_bytes": [30e6, 45e6],
            "leak": [False, True],
            "growth_bytes_per_call": [0.0, 1e5],
        }
    )
    peaks = plots.memory_peaks_plot(memory)
    assert any("leak" in t for t in _texts(peaks))
    series = pd.DataFrame(
        [
            {"id": "g", "series": s, "worker": 0, "iteration": i, "py_current_bytes": i * k}
            for s, k in (("baseline", 0), ("current", 100_000))
            for i in range(6)
        ]
    )
    growth = plots.memory_growth_plot(series, memory)
    assert "g  (leak: current)" in [ax.get_title() for ax in growth.axes]


def test_profile_diff_plot_keeps_names_as_text_and_dollars_out_of_mathtext():
    diff = pd.DataFrame(
        {
            "function": ["<genexpr>", "cost$total"],
            "file": ["app/x.py", "app/y.py"],
            "line": [3, 9],
            "status": ["changed", "new"],
            "delta_tottime_seconds": [2e-5, -1e-6],
        }
    )
    fig = plots.profile_diff_plot(diff)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert "<genexpr>  (x.py:3)" in labels
    assert r"cost\$total  (y.py:9)  new" in labels
    fig.canvas.draw()  # a bare "$" pair would raise a mathtext error here


def test_empty_inputs_say_why(tmp_path):
    fig = plots.ratio_plot(pd.DataFrame(columns=["id"]), 0.1)
    assert "no benchmark in common" in _texts(fig)
    path = plots.save_figure(fig, tmp_path / "sub" / "empty.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
