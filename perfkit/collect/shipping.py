"""The worker side, shipped to a foreign interpreter: a directory of stdlib-only modules.

A target that runs in another interpreter (``--python``, ``--env``) has none of perfkit's
dependencies and usually no perfkit at all. Its workers get ``PYTHONPATH`` pointing at a
copy of exactly the modules a worker imports (`WORKER_MODULES`: the worker, suite loading
and the ``perfkit.benchmark`` decorator, the timing/profile/memory passes, the message
protocol), nothing installed there. The copy lives under ``data/envs/worker-<hash>/``,
named by the hash of its contents, written whole into a temporary directory and renamed
into place, so concurrent runs share it and an edit of perfkit gives a new one.

Every module listed here must import with the standard library alone, on every Python
`perfkit.collect.interpreters.MIN_VERSION` allows (tests/test_envs.py checks both).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from perfkit.errors import TargetError

ENV_CACHE = Path("data") / "envs"
PACKAGE_DIR = Path(__file__).resolve().parent.parent  # .../perfkit
# Relative to the perfkit package. `perfkit/__init__.py` itself is stdlib-only at import
# (its pandas-backed names load lazily), so the suite's ``import perfkit`` gets the real
# ``benchmark`` decorator and `perfkit.monitor`; the lazy analysis names are absent there.
# A worker imports only `ids` and `messages` of `perfkit.rundir`; its other stdlib rooms are
# shipped too, so that every name of ``from perfkit.rundir import ...`` but the pandas-backed
# `load_run` and `Run` resolves there as well.
WORKER_MODULES = (
    "__init__.py",
    "errors.py",
    "units.py",
    "monitor.py",
    "config/__init__.py",
    "rundir/__init__.py",
    "rundir/ids.py",
    "rundir/messages.py",
    "rundir/refs.py",
    "rundir/schema.py",
    "rundir/writer.py",
    "collect/__init__.py",
    "collect/worker.py",
    "collect/suite.py",
    "collect/timing.py",
    "collect/profiling.py",
    "collect/memory.py",
    "collect/rss.py",
)


@functools.cache  # the modules of a running perfkit do not change
def _digest() -> str:
    h = hashlib.sha256()
    for name in WORKER_MODULES:
        h.update(name.encode() + b"\0" + (PACKAGE_DIR / name).read_bytes() + b"\0")
    return h.hexdigest()[:16]


def worker_path(cache: Path = ENV_CACHE) -> Path:
    """The directory to put on a foreign worker's PYTHONPATH (made once per perfkit version)."""
    cache = Path(cache).resolve()
    final = cache / f"worker-{_digest()}"
    if (final / "perfkit" / "collect" / "worker.py").is_file():
        return final
    try:
        cache.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=cache, prefix=".worker-", suffix=".tmp"))
    except OSError as exc:
        raise TargetError(f"cannot write the worker modules to {cache}: {exc.strerror}") from None
    try:
        for name in WORKER_MODULES:
            dest = staging / "perfkit" / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(PACKAGE_DIR / name, dest)
        os.chmod(staging, 0o755)
        with contextlib.suppress(OSError):  # another run put the same copy there first
            os.rename(staging, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if not (final / "perfkit" / "collect" / "worker.py").is_file():
        raise TargetError(f"could not put the worker modules into {final}")
    return final
