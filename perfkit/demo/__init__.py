"""The bundled demo: trackmatch before and after restructuring, its data, server and suite.

This module only names where things are; importing it starts and generates nothing.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

DEMO_DIR = Path(__file__).resolve().parent
BASELINE_DIR = DEMO_DIR / "baseline"
CURRENT_DIR = DEMO_DIR / "current"
SUITE_PATH = DEMO_DIR / "suite.py"
CONFIG_PATH = DEMO_DIR / "perfkit.toml"
LATENCY_ENV = "PERFKIT_DEMO_LATENCY"  # seconds the catalogue server adds per request


def demo_settings() -> dict[str, Any]:
    """The ``[demo]`` table of the demo's perfkit.toml (plans, injected latency)."""
    return tomllib.loads(CONFIG_PATH.read_text(encoding="utf-8")).get("demo", {})


def latency_seconds() -> float:
    """Injected server latency: ``$PERFKIT_DEMO_LATENCY`` (seconds), else ``[demo] latency``."""
    from perfkit.units import parse_seconds

    text = os.environ.get(LATENCY_ENV) or demo_settings().get("latency", "0s")
    return parse_seconds(text) or 0.0
