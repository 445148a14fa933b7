"""perfkit.render.format: each unit's text on known inputs, and a missing value as ``–``."""

from __future__ import annotations

import math

import pytest

from perfkit.render.format import (
    format_bytes,
    format_bytes_ci,
    format_change,
    format_count,
    format_estimate_ci,
    format_ratio_ci,
    format_seconds,
    format_seconds_ci,
    format_share,
    format_signed_seconds,
)


@pytest.mark.parametrize(
    ("ratio", "text"),
    [
        (1.124, "+12.4 % slower"),
        (0.476, "2.1× faster"),
        (0.92, "-8.0 % faster"),
        (1.5, "1.5× slower"),
        (1.49, "+49.0 % slower"),
        (1.0, "±0.0 % (same)"),
        (math.nan, "–"),
        (0.0, "–"),
    ],
)
def test_a_change_says_its_direction_in_words(ratio: float, text: str) -> None:
    assert format_change(ratio) == text


def test_seconds_and_their_intervals() -> None:
    assert format_seconds(0.0123) == "12.3 ms" and format_seconds(2e-10) == "0.2 ns"
    assert format_signed_seconds(3e-4) == "+300 µs" and format_signed_seconds(-3e-4) == "−300 µs"
    assert format_signed_seconds(0.0) == "0 ns"
    assert format_seconds_ci(0.0608, 0.0639) == "60.8–63.9 ms"  # one unit when shared
    assert format_seconds_ci(0.0009, 0.0011) == "900 µs–1.1 ms"


def test_bytes_counts_shares_and_ratios() -> None:
    assert format_bytes(2.5e8) == "250 MB" and format_bytes(512) == "512 B"
    assert format_bytes_ci(1200, 3400) == "1.2 KB–3.4 KB"
    assert [format_count(v) for v in (12345.6, 12.5, 0.25)] == ["12,346", "12.5", "0.25"]
    assert format_share(0.4237) == "42%" and format_share(0.4237, 1) == "42.4%"
    assert format_ratio_ci(0.95, 1.05) == "0.950–1.050"
    assert format_estimate_ci(1.02, 0.981, 1.06) == "1.02 [0.98–1.06]"


@pytest.mark.parametrize(
    "text",
    [
        format_seconds(None),
        format_seconds(math.nan),
        format_signed_seconds(math.nan),
        format_seconds_ci(math.nan, 1.0),
        format_bytes(None),
        format_bytes_ci(1.0, math.inf),
        format_ratio_ci(math.nan, 1.0),
        format_count(math.nan),
        format_share(None),
    ],
)
def test_a_missing_value_is_a_dash(text: str) -> None:
    assert text == "–"
