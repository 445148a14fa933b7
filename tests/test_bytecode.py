"""perfkit.collect.bytecode: perfkit's modules compiled once for all workers, even where
PYTHONDONTWRITEBYTECODE keeps imports from writing bytecode."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from perfkit.collect.bytecode import compile_package


def test_missing_and_stale_bytecode_is_written_and_then_used(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    source = package / "mod.py"
    source.write_text("VALUE = 1\n")
    cached = Path(importlib.util.cache_from_source(str(source)))
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": str(package)}
    subprocess.run([sys.executable, "-c", "import mod"], env=env, check=True)
    assert not cached.exists()  # imports alone write nothing here
    assert compile_package(package)
    assert cached.is_file()
    source.write_text("VALUE = 2\n")
    os.utime(source, (cached.stat().st_mtime + 10,) * 2)  # the source is newer: stale
    assert compile_package(package)
    # The header records the source's mtime: an import takes this file, not the source.
    recorded = int.from_bytes(cached.read_bytes()[8:12], "little")
    assert recorded == int(source.stat().st_mtime)
    check = "import mod; assert mod.VALUE == 2"
    subprocess.run([sys.executable, "-c", check], env=env, check=True)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_a_read_only_installation_is_left_as_it_is(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "mod.py").write_text("VALUE = 1\n")
    package.chmod(0o555)
    try:
        assert not compile_package(package)
        assert not (package / "__pycache__").exists()
    finally:
        package.chmod(0o755)
