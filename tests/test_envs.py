"""Targets in their own environments (issue 19): foreign interpreters, built environments,
the stdlib-only worker side, and what run.json, compare and the report say about them.

Real interpreters and real virtualenvs throughout: bare ones (``python -m venv
--without-pip``, nothing installed) and two that differ in one dependency from PyPI
(packaging 21.3 and 22.0, whose requirement parser 22.0 rewrote without pyparsing).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SUITES, perfkit_cli

from perfkit.analysis.environment import environment_diff, package_changes
from perfkit.collect import envs, interpreters
from perfkit.collect.envs import build_env, requirements_of
from perfkit.collect.shipping import PACKAGE_DIR, WORKER_MODULES, worker_path
from perfkit.collect.targets import Target, with_interpreters
from perfkit.errors import TargetError
from perfkit.rundir import InterpreterInfo, TargetInfo, load_run

SUITE = SUITES / "foreign_suite.py"
PYENV = Path("/root/.pyenv/versions")
BLOCKED = ("pandas", "numpy", "scipy", "psutil", "memory_profiler", "rich", "matplotlib")


def _module_names() -> list[str]:
    names = []
    for rel in WORKER_MODULES:
        parts = ["perfkit", *Path(rel).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        names.append(".".join(parts))
    return names


def test_worker_side_imports_and_measures_memory_with_third_party_blocked():
    """Every shipped module imports with perfkit's dependencies blocked, pulls in nothing
    outside the standard library, and the RSS fallback (/proc, resource) gives figures."""
    code = f"""
import importlib.abc, sys
at_start = set(sys.modules)  # the interpreter's own start-up (site, editable finders)
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in {BLOCKED!r}:
            raise ImportError("blocked: " + name)
sys.meta_path.insert(0, Block())
for name in {_module_names()!r}:
    __import__(name)
from perfkit.collect import rss
rss_now = rss.current_rss_bytes()
peak = rss.peak_rss_during(lambda: bytearray(50 * 2**20))
assert rss.memory_usage is None
foreign = sorted(
    m for m in set(sys.modules) - at_start
    if m.partition(".")[0] not in sys.stdlib_module_names and m.partition(".")[0] != "perfkit"
)
print(rss_now, peak.peak_rss_bytes, foreign)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    rss_now, peak, foreign = done.stdout.split(maxsplit=2)
    assert foreign.strip() == "[]"
    assert int(rss_now) > 5 * 2**20
    assert int(peak) >= int(rss_now) + 40 * 2**20  # the 50 MiB bytearray is seen


def test_worker_modules_are_shipped_whole_and_once(tmp_path):
    first = worker_path(tmp_path)
    assert worker_path(tmp_path) == first
    shipped = sorted(str(p.relative_to(first / "perfkit")) for p in first.rglob("*.py"))
    assert shipped == sorted(WORKER_MODULES)
    for rel in WORKER_MODULES:
        assert (first / "perfkit" / rel).read_bytes() == (PACKAGE_DIR / rel).read_bytes()


def _bare_venv(base: str, where: Path) -> Path:
    subprocess.run([base, "-m", "venv", "--without-pip", str(where)], check=True)
    return where / "bin" / "python"


@pytest.mark.slow
def test_timing_profile_and_memory_passes_in_a_bare_venv(tmp_path):
    """A venv with nothing installed: no perfkit, no psutil, no memory_profiler."""
    venv = _bare_venv(sys.executable, tmp_path / "bare")
    done = perfkit_cli(
        "run", str(SUITE), "--only", "sort_numbers,bare_environment", "--python", f"current={venv.parent.parent}",
        "--workers", "2", "--profile", "--profile-workers", "1", "--memory",
        "--out", str(tmp_path / "runs"), cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    run = load_run(Path(done.stdout.strip().splitlines()[-1]))
    assert set(run.samples["target"]) == {"current"}
    assert len(run.samples.groupby(["benchmark", "params", "worker"])) == 6
    assert run.failures.empty
    profiles = sorted((run.path / "profiles").rglob("sort_numbers*.prof"))
    assert len(profiles) == 2
    import pstats

    functions = {key[2] for key in pstats.Stats(str(profiles[0])).stats}  # type: ignore[attr-defined]
    assert "<lambda>" in functions and "sorted" in " ".join(functions)
    memory = run.memory
    assert memory is not None and not memory.empty and (memory["rss_bytes"] > 0).all()
    interpreter = run.info.targets["current"].interpreter
    assert interpreter is not None
    assert interpreter.executable == str(venv.parent.parent / "bin" / "python")
    assert interpreter.packages == {}  # nothing installed: the worker brought its own modules


def test_a_foreign_worker_imports_the_shipped_modules_not_the_working_directory(
    tmp_path, monkeypatch
):
    """Run from a directory holding another `perfkit` package: the worker ignores it."""
    from dataclasses import replace

    from perfkit.collect.scheduler import run_suite
    from perfkit.config import DEFAULT_PLAN

    venv = _bare_venv(sys.executable, tmp_path / "bare")
    (tmp_path / "perfkit").mkdir()
    (tmp_path / "perfkit" / "__init__.py").write_text("raise ImportError('the wrong perfkit')\n")
    monkeypatch.chdir(tmp_path)  # the workers start here
    targets = with_interpreters([Target("current", ".", str(tmp_path))], [f"current={venv}"])
    plan = replace(DEFAULT_PLAN.quick(), workers=1)
    result = run_suite(str(SUITE), targets, tmp_path / "runs", plan=plan, only="bare_environment")
    assert result.status == "complete" and result.n_failed == 0


@pytest.mark.slow
@pytest.mark.parametrize("version", ["3.9", "3.13"])
def test_older_and_newer_python_run_the_worker(tmp_path, version):
    found = sorted(PYENV.glob(f"{version}.*/bin/python{version}"))
    if not found:
        pytest.skip(f"no Python {version} on this machine")
    venv = _bare_venv(str(found[-1]), tmp_path / f"py{version}")
    done = perfkit_cli(
        "run", str(SUITE), "--only", "sort_numbers", "--target", "a=.", "--target", "b=.",
        "--python", f"b={venv}", "--workers", "2", "--memory", "--profile", "--profile-workers", "1",
        "--out", str(tmp_path / "runs"),
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    run = load_run(Path(done.stdout.strip().splitlines()[-1]))
    assert set(run.samples["target"]) == {"a", "b"}
    assert len(list((run.path / "profiles" / "b").glob("*.prof"))) == 2  # read by our pstats
    assert not run.memory[run.memory["target"] == "b"].empty  # type: ignore[index]
    assert run.info.targets["b"].interpreter.version.startswith(version)  # type: ignore[union-attr]
    assert f"Python CPython {sys.version.split()[0]} → CPython {version}." in done.stderr


def _script(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o755)
    return path


def test_an_unusable_interpreter_is_one_clear_error(tmp_path):
    missing = tmp_path / "nope" / "python"
    with pytest.raises(TargetError, match=r"interpreter .*nope/python not found"):
        interpreters.probe(missing)
    plain = tmp_path / "plain.txt"
    plain.write_text("hello")
    with pytest.raises(TargetError, match="is not executable"):
        interpreters.probe(plain)
    shell = _script(tmp_path / "fake-python", "#!/bin/sh\necho 'I am not Python'\n")
    with pytest.raises(TargetError, match="is not a Python interpreter: I am not Python"):
        interpreters.probe(shell)
    binary = _script(tmp_path / "garbage", "\x7fELF nonsense")
    with pytest.raises(TargetError, match="is not a Python interpreter"):
        interpreters.probe(binary)
    (tmp_path / "dir").mkdir()
    with pytest.raises(TargetError, match="not a virtualenv"):
        interpreters.probe(tmp_path / "dir")
    old = sorted(PYENV.glob("3.8.*/bin/python3.8")) + sorted(PYENV.glob("2.7.*/bin/python2.7"))
    for python in old:
        with pytest.raises(TargetError, match=r"Python [23]\.\d+\.\d+ at .* is too old: .*3\.9"):
            interpreters.probe(python)


def test_the_cli_says_one_line_for_a_bad_interpreter_or_label(tmp_path):
    fake = _script(tmp_path / "fake-python", "#!/bin/sh\nexit 3\n")
    done = perfkit_cli("run", str(SUITE), "--python", f"current={fake}", cwd=tmp_path)
    assert done.returncode == 2
    assert (
        done.stderr.strip()
        == f"perfkit run: error: target current: {fake} is not a Python interpreter"
    )
    done = perfkit_cli("run", str(SUITE), "--target", "a=.", "--env", "b=req.txt", cwd=tmp_path)
    assert done.returncode == 2
    assert (
        done.stderr.strip() == "perfkit run: error: --env b: no target has that label (targets: a)"
    )
    assert not (tmp_path / "data" / "runs").exists()


def test_with_interpreters_probes_and_keeps_other_targets(tmp_path):
    venv = _bare_venv(sys.executable, tmp_path / "v")
    targets = [Target("a", ".", str(tmp_path)), Target("b", ".", str(tmp_path))]
    out = with_interpreters(targets, pythons=[f"b={venv}"])
    assert out[0] == targets[0] and out[0].python is None
    assert out[1].python == str(venv)
    assert (
        out[1].interpreter is not None and out[1].interpreter.version == interpreters.own().version
    )
    with pytest.raises(TargetError, match="--python b given twice"):
        with_interpreters(targets, pythons=[f"b={venv}", f"b={venv}"])
    with pytest.raises(TargetError, match="bad --python 'b': expected LABEL=PATH"):
        with_interpreters(targets, pythons=["b"])


def test_environment_is_built_once_per_file_content(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    req = tmp_path / "requirements.txt"
    req.write_text("# nothing but the interpreter\n")
    python = build_env(req)
    assert python.exists() and python.parent.parent.parent == (tmp_path / "data" / "envs")
    marker = python.parent.parent / ".perfkit-complete"
    stamp = marker.stat().st_mtime_ns
    assert build_env(req) == python and marker.stat().st_mtime_ns == stamp  # re-used
    req.write_text("# nothing but the interpreter, edited\n")
    assert build_env(req) != python
    with pytest.raises(TargetError, match=r"environment file .*missing\.txt not found"):
        build_env(tmp_path / "missing.txt")


@pytest.mark.slow
@pytest.mark.parametrize("tool", ["uv", "pip"])
def test_an_environment_holds_what_its_file_lists(tmp_path, monkeypatch, tool):
    """uv when the envs extra is installed, else venv + perfkit's pip: the same result."""
    if tool == "uv" and envs.uv_binary() is None:
        pytest.skip("uv is not installed (pip install 'perfkit[envs]')")
    if tool == "pip":
        monkeypatch.setattr(envs, "uv_binary", lambda: None)
    req = tmp_path / "requirements.txt"
    req.write_text("packaging==22.0\n")
    python = build_env(req, cache=tmp_path / "envs")
    assert interpreters.probe(python).packages == {"packaging": "22.0"}
    log = (python.parent.parent.parent / f"{python.parent.parent.name}.log").read_text()
    assert ("uv venv" in log) == (tool == "uv") and ("-m venv" in log) == (tool == "pip")
    req.write_text("packaging==0.0.0.0.404\n")
    with pytest.raises(TargetError, match=r"environment from .*requirements.txt failed \(.*; see "):
        build_env(req, cache=tmp_path / "envs")


def test_pyproject_dependencies_are_the_environment(tmp_path):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "app"\ndependencies = ["packaging==22.0"]\n')
    assert requirements_of(pyproject)[0] == ["packaging==22.0"]
    pyproject.write_text("[project\n")
    with pytest.raises(TargetError, match="not valid TOML"):
        requirements_of(pyproject)


def test_environment_diff_names_what_changed():
    changes = package_changes(
        {"Packaging": "21.3", "pyparsing": "3.3.3", "six": "1.16.0"},
        {"packaging": "22.0", "six": "1.16.0", "tomli": "2.0.1"},
    )
    assert [(c.name, c.baseline, c.current, c.kind) for c in changes] == [
        ("packaging", "21.3", "22.0", "changed"),
        ("pyparsing", "3.3.3", None, "removed"),
        ("tomli", None, "2.0.1", "added"),
    ]
    old = InterpreterInfo("/a/python", "CPython", "3.11.7", {"packaging": "21.3"})
    new = InterpreterInfo("/b/python", "CPython", "3.12.1", {"packaging": "22.0"})
    diff = environment_diff(TargetInfo(interpreter=old), TargetInfo(interpreter=new))
    assert diff.lines() == [
        "Python CPython 3.11.7 → CPython 3.12.1",
        "packages: packaging 21.3 → 22.0",
    ]
    # A run made before interpreters were recorded: the run's Python, packages unknown.
    legacy = environment_diff(
        TargetInfo(), TargetInfo(), {"version": "3.11.7"}, {"version": "3.11.7"}
    )
    assert not legacy.python_changed and not legacy.packages_known and legacy.lines() == []
    half = environment_diff(TargetInfo(), TargetInfo(interpreter=new), {"version": "3.11.7"})
    assert half.lines() == [
        "Python 3.11.7 → CPython 3.12.1",
        "packages recorded on one side only (the other run predates the record)",
    ]
    same = environment_diff(TargetInfo(interpreter=old), TargetInfo(interpreter=old))
    assert same.same and same.lines() == []


def test_target_info_keeps_its_interpreter_through_json():
    interpreter = InterpreterInfo("/v/bin/python", "CPython", "3.12.1", {"a": "1"}, "/r.txt")
    info = TargetInfo(".", "/x", None, series="s", interpreter=interpreter)
    assert TargetInfo.from_json(json.loads(json.dumps(info.to_json())), "t") == info
    assert TargetInfo.from_json({"spec": ".", "path": "/x"}, "t").interpreter is None


@pytest.mark.slow
def test_dependency_upgrade_review_shows_verdict_and_package_versions(tmp_path):
    """Same code, two environments from PyPI: packaging 21.3 (pyparsing-based parser) vs
    22.0 (its own parser). The verdict and the differing packages reach compare's JSON
    and the report's Environment section."""
    (tmp_path / "old.txt").write_text("packaging==21.3\n")
    (tmp_path / "new.txt").write_text("packaging==22.0\n")
    done = perfkit_cli(
        "run", str(SUITE), "--only", "parse_requirement", "--target", "old=.", "--target", "new=.",
        "--env", "old=old.txt", "--env", "new=new.txt", "--workers", "4",
        "--out", str(tmp_path / "runs"), cwd=tmp_path, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    run_path = Path(done.stdout.strip().splitlines()[-1])
    assert "environment differs: packages: packaging 21.3 → 22.0, pyparsing" in done.stderr
    out = tmp_path / "comparison.json"
    done = perfkit_cli("compare", str(run_path), "--json", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    data = json.loads(out.read_text())
    assert data["comparison"]["parse_requirement"]["verdict"] == "improvement"
    assert data["comparison"]["parse_requirement"]["ratio"] < 0.5
    env = data["environment"]
    versions = {p["name"]: (p["baseline"], p["current"]) for p in env["packages"]}
    assert sorted(versions) == ["packaging", "pyparsing"]  # 21.3 needs pyparsing, 22.0 not
    assert versions["packaging"] == ("21.3", "22.0") and versions["pyparsing"][1] is None
    assert not env["python_changed"]
    info = load_run(run_path).info.targets
    assert info["old"].interpreter.env_file == str(tmp_path / "old.txt")  # type: ignore[union-attr]

    from perfkit.report.data import open_report
    from perfkit.report.document import render_markdown, report_context

    text = render_markdown(report_context(open_report(run_path, out_dir=tmp_path / "reports")))
    environment = text[text.index("## Environment") :]
    assert (
        "**The environments differ** (baseline → current): packages: packaging 21.3 → 22.0"
        in environment
    )
    assert "| packaging | 21.3 | 22.0 | changed |" in environment
    env_row = next(
        line for line in environment.splitlines() if line.startswith("| Environment from")
    )
    assert "old.txt |" in env_row and env_row.endswith("new.txt |")  # paths markdown-escaped
    assert "improvement" in text[: text.index("## Environment")]
