"""perfkit: a performance review workbench for Python applications.

The public surface a suite or a notebook needs; everything else lives in modules.
Heavy names (pandas-backed analysis) load lazily so that worker start-up stays small.
"""

from __future__ import annotations

import importlib

from perfkit.collect.suite import benchmark, body
from perfkit.errors import PerfkitError

# typing is for the type checker only: importing it took ~3 ms of every worker's start-up.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


__version__ = "0.1.0"

_LAZY = {
    "load_run": "perfkit.rundir",
    "compare": "perfkit.analysis.comparison",
    "load_profile": "perfkit.analysis.profiles",
    "diff_profiles": "perfkit.analysis.profiles",
    "load_run_profiles": "perfkit.analysis.run_profiles",
    "find_culprits": "perfkit.analysis.culprits",
    "culprits": "perfkit.analysis.run_profiles:run_culprits",
    "measure_time": "perfkit.monitor",
}

__all__ = ["PerfkitError", "__version__", "benchmark", "body", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, _, attr = _LAZY[name].partition(":")
        return getattr(importlib.import_module(module), attr or name)
    raise AttributeError(f"module 'perfkit' has no attribute {name!r}")


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext perfkit``: register the perfkit magics."""
    from perfkit.interactive.magics import register

    register(ipython)
