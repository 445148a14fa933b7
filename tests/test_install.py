"""What an installation promises: one version, extras read from pyproject, and missing
packages reported as one line naming what to install (never a silently missing command)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from conftest import ROOT, perfkit_cli

import perfkit
import perfkit.commands
from perfkit import cli, extras


def _python(code: str, *args: str, cwd: Path, pythonpath: Path | None = None):
    """``python -c CODE ARGS`` for real in `cwd` (not the checkout: its perfkit.egg-info
    would be found first), optionally with `pythonpath` first on the path."""
    env = {**os.environ, "PYTHONPATH": str(pythonpath)} if pythonpath else None
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )


def _without(extra: str, main: str) -> str:
    """Code that runs `main` only once the fake metadata is seen (never the real thing)."""
    return f"from perfkit import extras\nassert extras.missing({extra!r})\n{main}"


def _fake_metadata(tmp_path: Path, extra: str) -> Path:
    """A perfkit dist-info, first on the path, whose `extra` needs a package nobody has."""
    info = tmp_path / f"perfkit-{perfkit.__version__}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: perfkit\n"
        f"Version: {perfkit.__version__}\nProvides-Extra: {extra}\n"
        f'Requires-Dist: no-such-dist-xyz>=1; extra == "{extra}"\n'
    )
    return tmp_path


def test_one_version_everywhere() -> None:
    assert metadata.version("perfkit") == perfkit.__version__
    done = perfkit_cli("--version")
    assert done.returncode == 0 and done.stdout == f"perfkit {perfkit.__version__}\n"


def test_extras_come_from_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {
        extra: list(dict.fromkeys(re.split(r"[<>=!~;\[ ]", req)[0] for req in reqs))
        for extra, reqs in project["optional-dependencies"].items()
    }
    assert extras.extra_requirements() == declared
    assert extras.extra_for_module("rapidfuzz") == "demo"
    assert extras.extra_for_module("pyperf") == "selfbench"
    assert extras.extra_for_module("pandas") is None
    assert extras.missing("demo") == [] and extras.missing("selfbench") == []


def test_a_missing_command_module_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "COMMANDS", (*cli.COMMANDS, "no_such_command"))
    with pytest.raises(ModuleNotFoundError, match=r"perfkit\.commands\.no_such_command"):
        cli.build_parser()


def test_a_missing_core_package_is_one_line(tmp_path: Path) -> None:
    done = _python(
        "import sys; sys.modules['rich'] = None  # as if not installed\n"
        "from perfkit.cli import entry; entry()",
        "show",
        "x",
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "perfkit: error: package 'rich' is not installed; reinstall perfkit "
        "(pip install perfkit, or bash .ci/setup in a checkout)"
    ]


def test_a_command_needing_a_missing_extra_says_which(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "fuzzy.py").write_text(
        "import rapidfuzz\n\ndef add_parser(sub):\n    sub.add_parser('fuzzy')\n"
    )
    monkeypatch.setattr(perfkit.commands, "__path__", [*perfkit.commands.__path__, str(tmp_path)])
    monkeypatch.setitem(sys.modules, "rapidfuzz", None)  # as if not installed
    monkeypatch.setattr(cli, "COMMANDS", (*cli.COMMANDS, "fuzzy"))
    assert "(not installed: needs the 'demo' extra)" in cli.build_parser().format_help()
    assert cli.main(["fuzzy", "--any", "args"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "perfkit fuzzy: error: needs rapidfuzz: pip install 'perfkit[demo]' "
        "(in a checkout: pip install -e '.[demo]')"
    ]


_DEMO_MAIN = "from perfkit.cli import entry; entry()"
_SELFBENCH_MAIN = "import sys; from perfkit.selfbench.__main__ import main\nsys.exit(main())"


@pytest.mark.parametrize(
    ("extra", "main", "args", "expected", "untouched"),
    [
        pytest.param(
            "demo",
            _DEMO_MAIN,
            ["demo", "--runs-dir", "runs"],
            "perfkit demo: error: the demo app needs no-such-dist-xyz: "
            "pip install 'perfkit[demo]' (in a checkout: pip install -e '.[demo]')",
            ["runs", "data"],
            id="demo",
        ),
        pytest.param(
            "selfbench",
            _SELFBENCH_MAIN,
            ["detect", "--out", "detect"],
            "perfkit.selfbench detect: error: the pyperf comparison (--pyperf-trials 0 to skip "
            "it) needs no-such-dist-xyz: pip install 'perfkit[selfbench]' "
            "(in a checkout: pip install -e '.[selfbench]')",
            ["detect"],
            id="selfbench-detect-without-pyperf",
        ),
    ],
)
def test_a_missing_extra_stops_before_anything_is_written(
    extra: str, main: str, args: list[str], expected: str, untouched: list[str], tmp_path: Path
) -> None:
    fake = _fake_metadata(tmp_path / "site", extra)
    done = _python(_without(extra, main), *args, cwd=tmp_path, pythonpath=fake)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [expected]
    assert not any((tmp_path / name).exists() for name in untouched)


def test_pre_commit_config_loads_and_its_notebook_hook_passes() -> None:
    yaml = pytest.importorskip("yaml")  # papermill's dependency; pre-commit parses the same way
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    hooks = {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}
    assert set(hooks) == {"ruff-check", "ruff-format", "notebooks-in-sync"}
    done = subprocess.run(
        shlex.split(hooks["notebooks-in-sync"]["entry"]),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout
