"""Every command's --help renders: argparse formats help strings with %, so a bare "3%"
in a help text is a crash that only the help screen shows (it was one in `perfkit run`)."""

from __future__ import annotations

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
