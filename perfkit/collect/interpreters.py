"""Interpreters that run a target's workers: perfkit's own, or one the user names.

`probe(path)` asks a foreign interpreter, in a subprocess, what it is (implementation,
version, executable) and which distributions it has installed (importlib.metadata, run in
that interpreter). Anything that is not a usable Python stops with one `TargetError`
line: missing, not executable, not a Python, or older than `MIN_VERSION`, the oldest
Python the shipped worker modules (`perfkit.collect.shipping`) import on.
`own()` describes perfkit's own interpreter without a subprocess. Both give the
`InterpreterInfo` that run.json records per target.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from perfkit.errors import TargetError
from perfkit.rundir.schema import InterpreterInfo

MIN_VERSION = (3, 9)
PROBE_TIMEOUT_SECONDS = 60.0
# Runs in the probed interpreter: old syntax on purpose, so a Python 2 or 3.6 still answers
# (and is then told it is too old) instead of failing with a SyntaxError.
_PROBE = """
import json, os, platform, sys
sys.path[:] = [p for p in sys.path if p not in ("", os.getcwd())]  # as the worker does
packages = {}
try:
    from importlib import metadata
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            packages[name] = dist.version
except Exception:
    pass
sys.stdout.write(json.dumps({"perfkit_probe": 1,
    "implementation": platform.python_implementation(),
    "version": platform.python_version(),
    "version_info": list(sys.version_info[:3]),
    "executable": sys.executable,
    "packages": packages}) + "\\n")
"""


def _installed() -> dict[str, str]:
    from importlib import metadata

    packages: dict[str, str] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            packages.setdefault(name, dist.version)
    return packages


def own() -> InterpreterInfo:
    """perfkit's own interpreter, described in-process."""
    return InterpreterInfo(
        executable=sys.executable,
        implementation=platform.python_implementation(),
        version=platform.python_version(),
        packages=_installed(),
    )


def executable_of(path: str | Path) -> Path:
    """The interpreter a user names: a file, or a virtualenv directory (its bin/python)."""
    given = Path(path).expanduser()
    if given.is_dir():
        for candidate in (given / "bin" / "python", given / "Scripts" / "python.exe"):
            if candidate.exists():
                return candidate.absolute()
        raise TargetError(f"{path} is a directory without bin/python (not a virtualenv)")
    if not given.exists():
        raise TargetError(f"interpreter {path} not found")
    if not os.access(given, os.X_OK):
        raise TargetError(f"interpreter {path} is not executable")
    return given.absolute()  # not resolved: a venv's bin/python symlink must stay the venv's


def probe(path: str | Path) -> InterpreterInfo:
    """Run the probe in the interpreter at `path`; one clear TargetError when it can't serve."""
    exe = executable_of(path)
    try:
        done = subprocess.run(
            [str(exe), "-c", _PROBE],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_SECONDS,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        raise TargetError(f"{path} did not answer within {PROBE_TIMEOUT_SECONDS:g} s") from None
    except OSError as exc:
        raise TargetError(f"{path} is not a Python interpreter ({exc.strerror})") from None
    answer = _parse(done.stdout)
    if answer is None:
        said = (done.stderr.strip() or done.stdout.strip()).splitlines()
        hint = f": {said[-1][:120]}" if said else ""
        raise TargetError(f"{path} is not a Python interpreter{hint}")
    version = str(answer.get("version", "?"))
    if tuple(answer.get("version_info") or (0,)) < MIN_VERSION:
        raise TargetError(
            f"Python {version} at {path} is too old: perfkit's worker needs Python "
            f"{'.'.join(map(str, MIN_VERSION))} or newer"
        )
    packages = answer.get("packages")
    return InterpreterInfo(
        executable=str(exe),
        implementation=str(answer.get("implementation", "?")),
        version=version,
        packages={str(k): str(v) for k, v in packages.items()}
        if isinstance(packages, dict)
        else {},
    )


def _parse(stdout: str) -> dict[str, Any] | None:
    for line in reversed(stdout.splitlines()):
        try:
            answer = json.loads(line)
        except ValueError:
            continue
        if isinstance(answer, dict) and answer.get("perfkit_probe") == 1:
            return answer
    return None
