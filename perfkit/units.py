"""Human units for budgets and limits: "5s", "100ms", "5min", "500MB", "10%".

Pure parsing, stdlib only (the worker side imports it); no I/O. Formatting numbers as
text is perfkit.render.format's job.
"""

from __future__ import annotations

import re

from perfkit.errors import PerfkitError

_TIME_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "sec": 1.0,
    "min": 60.0,
    "m": 60.0,
    "h": 3600.0,
}
_SIZE_UNITS = {
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
}
_NUMBER_UNIT = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:e[+-]?\d+)?)\s*([a-zµ]*)\s*$", re.IGNORECASE)


def _split(text: str, what: str) -> tuple[float, str]:
    match = _NUMBER_UNIT.match(str(text))
    if not match:
        raise PerfkitError(f"bad {what} {text!r}: expected a number and a unit, e.g. '5s'")
    return float(match.group(1)), match.group(2)


def parse_seconds(value: str | float | int | None) -> float | None:
    """Parse a duration ("5s", "100ms", "5min", 2.5) into seconds."""
    if value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    number, unit = _split(value, "duration")
    factor = _TIME_UNITS.get(unit.lower() if unit != "µs" else unit, None if unit else 1.0)
    if factor is None:
        raise PerfkitError(
            f"bad duration {value!r}: unknown unit {unit!r} (use ns, us, ms, s, min, h)"
        )
    return number * factor


def parse_bytes(value: str | float | int | None) -> int | None:
    """Parse a size ("500MB", "1.5GiB", 1024) into bytes."""
    if value is None:
        return None
    if isinstance(value, int | float):
        return int(value)
    number, unit = _split(value, "size")
    factor = _SIZE_UNITS.get(unit.lower(), None if unit else 1)
    if factor is None:
        raise PerfkitError(
            f"bad size {value!r}: unknown unit {unit!r} (use B, KB, MB, GB, KiB, MiB, GiB)"
        )
    return int(number * factor)


def parse_fraction(value: str | float) -> float:
    """Parse a threshold ("10%", "0.1", 0.1) into a fraction."""
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    try:
        if text.endswith("%"):
            return float(text[:-1]) / 100.0
        return float(text)
    except ValueError:
        raise PerfkitError(f"bad threshold {value!r}: expected e.g. '10%' or 0.1") from None
