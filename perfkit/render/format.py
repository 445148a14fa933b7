"""Numbers as text, one function per unit: the only place perfkit formats a quantity.

Seconds, bytes, counts and shares, intervals of them, and a ratio as a change "with its
direction in words" (DESIGN.md). Every function takes plain floats, returns ``–`` for a
missing value (None, NaN, an infinite bound) and never raises on data. pyperf's
``_formatter.py`` is the model.

This module is a leaf: stdlib only, it imports nothing of perfkit, so every room may use
it (analysis writes its verdict sentences with it; the worker side can import it).
Parsing ("5ms", "500MB", "10%") lives in perfkit.units.
"""

from __future__ import annotations

import math

MISSING = "–"
FACTOR_FROM = 1.5  # from 1.5x on a change is written as a factor, below as a percent
_SECONDS = (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9))
_BYTES = (("GB", 1e9), ("MB", 1e6), ("KB", 1e3))


def _missing(value: float | None) -> bool:
    return value is None or value != value


def _finite(*values: float | None) -> bool:
    return all(v is not None and math.isfinite(v) for v in values)


def format_seconds(seconds: float | None) -> str:
    """A duration with the unit that keeps 3 significant digits: ``1.23 ms``."""
    if _missing(seconds):
        return MISSING
    for unit, factor in _SECONDS:
        if abs(seconds) >= factor or unit == "ns":
            return f"{seconds / factor:.3g} {unit}"
    return f"{seconds:.3g} s"


def format_signed_seconds(seconds: float | None) -> str:
    """A change of duration with its sign: ``+1.2 ms``, ``−300 µs``, ``0 ns``."""
    if _missing(seconds):
        return MISSING
    sign = "+" if seconds > 0 else "−" if seconds < 0 else ""
    return sign + format_seconds(abs(seconds))


def format_seconds_ci(low: float | None, high: float | None) -> str:
    """An interval of durations: ``60.8–63.9 ms`` (one unit when both ends share it)."""
    if not _finite(low, high):
        return MISSING
    low_text, high_text = format_seconds(low), format_seconds(high)
    low_number, _, low_unit = low_text.partition(" ")
    if low_unit == high_text.partition(" ")[2]:
        return f"{low_number}–{high_text}"
    return f"{low_text}–{high_text}"


def format_bytes(nbytes: float | None) -> str:
    """A size in decimal units (MB = 10^6 bytes, as budgets are written): ``3.2 MB``."""
    if _missing(nbytes):
        return MISSING
    for unit, factor in _BYTES:
        if abs(nbytes) >= factor:
            return f"{nbytes / factor:.3g} {unit}"
    return f"{nbytes:.0f} B"


def format_bytes_ci(low: float | None, high: float | None) -> str:
    """An interval of sizes: ``1.2 KB–3.4 KB``."""
    if not _finite(low, high):
        return MISSING
    return f"{format_bytes(low)}–{format_bytes(high)}"


def format_ratio_ci(low: float | None, high: float | None, digits: int = 3) -> str:
    """An interval of a ratio (or any unitless number): ``0.950–1.050``."""
    if not _finite(low, high):
        return MISSING
    return f"{low:.{digits}f}–{high:.{digits}f}"


def format_estimate_ci(value: float, low: float | None, high: float | None) -> str:
    """A unitless estimate with its interval, as scaling's k: ``1.02 [0.98–1.06]``."""
    return f"{value:.2f} [{format_ratio_ci(low, high, 2)}]"


def format_change(ratio: float | None) -> str:
    """A ratio current / baseline as a change in words: ``+12.4 % slower``, ``2.1× faster``.

    Below 1.5× either way the change is a signed percent of the baseline; from 1.5× on it
    is a factor (current/baseline when slower, baseline/current when faster).
    """
    if not _finite(ratio) or ratio <= 0:
        return MISSING
    pct = (ratio - 1.0) * 100.0
    if abs(pct) < 0.05:
        return "±0.0 % (same)"
    if ratio >= FACTOR_FROM:
        return f"{ratio:.1f}× slower"
    if ratio <= 1.0 / FACTOR_FROM:
        return f"{1.0 / ratio:.1f}× faster"
    return f"{pct:+.1f} % {'slower' if ratio > 1 else 'faster'}"


def format_count(value: float | None) -> str:
    """A count, possibly per call, to 3 significant digits: ``12,345``, ``12.5``, ``0.25``."""
    if not _finite(value):
        return MISSING
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"


def format_share(share: float | None, digits: int = 0) -> str:
    """A fraction as a percent: ``42%`` (``digits`` decimals)."""
    if not _finite(share):
        return MISSING
    return f"{share:.{digits}%}"
