"""Every command's --help renders: argparse formats help strings with %, so a bare "3%"
in a help text is a crash that only the help screen shows (it was one in `perfkit run`)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from perfkit.cli import COMMANDS, main
from perfkit.selfbench.__main__ import available
from perfkit.selfbench.__main__ import main as selfbench_main


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_prints_its_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0
    assert f"usage: perfkit {command}" in capsys.readouterr().out


@pytest.mark.parametrize("name", available())
def test_every_selfbench_prints_its_help(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        selfbench_main([name, "--help"])
    assert done.value.code == 0
    assert "usage:" in capsys.readouterr().out


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="counts threads in /proc")
@pytest.mark.parametrize("user_setting", [None, "3"])
def test_perfkit_imports_numpy_without_blas_threads_and_gives_the_environment_back(
    user_setting: str | None,
) -> None:
    """perfkit's own process: one thread after importing numpy (OpenBLAS would start one per
    core); the variable it used is the user's again, for the workers."""
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if user_setting is not None:
        env["OPENBLAS_NUM_THREADS"] = user_setting
    code = (
        "import os; from perfkit.cli import numpy_without_blas_threads as f; f(); "
        "print(len(os.listdir('/proc/self/task')), os.environ.get('OPENBLAS_NUM_THREADS'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["1", str(user_setting)]
