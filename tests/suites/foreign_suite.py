"""A suite for a target in its own environment: it must not see perfkit's dependencies.

`parse_requirement` times `packaging.requirements.Requirement`, whose parser packaging 22.0
rewrote without pyparsing (about ten times faster than 21.3 here): the dependency upgrade of
tests/test_envs.py. `sort_numbers` needs nothing but the standard library;
`bare_environment` fails where perfkit's dependencies are importable.
"""

import importlib.util
import sys

import perfkit

LEAKED = [m for m in ("pandas", "numpy", "psutil", "memory_profiler") if m in sys.modules]
VISIBLE = [m for m in ("pandas", "psutil") if importlib.util.find_spec(m) is not None]
SPEC = "requests[security,socks]>=2.8.1,==2.8.*; python_version < '3.9' and sys_platform == 'linux'"


@perfkit.benchmark(params={"n": [200, 2000]})
def sort_numbers(n):
    data = [(i * 7919) % n for i in range(n)]
    return lambda: sorted(data)


@perfkit.benchmark
def bare_environment():
    """Fails unless the worker runs without perfkit's dependencies (a bare venv)."""
    if LEAKED or VISIBLE:
        raise RuntimeError(f"perfkit's environment leaked into the worker: {LEAKED + VISIBLE}")
    return lambda: sorted(range(100))


@perfkit.benchmark
def parse_requirement():
    from packaging.requirements import Requirement

    return lambda: Requirement(SPEC)
