"""The profile room: pstats loading, path shortening, diff, pictures, `perfkit view`.

Real pstats files throughout: committed fixtures (tests/fixtures/profiles, made by
make_profiles.py there), a live `python -m cProfile -o` of a stdlib tool, and a real
`perfkit run --profile`.
"""

from __future__ import annotations

import json
import marshal
import os
import pstats
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from conftest import ROOT, SUITES, perfkit_cli
from helpers.runs import build_run

from perfkit.analysis.profiles import (
    PathShortener,
    Profile,
    diff_profiles,
    function_key,
    load_profile,
)
from perfkit.analysis.run_profiles import load_run_profile, load_run_profiles
from perfkit.cli import main as cli_main
from perfkit.collect.profiling import profile as profile_pass
from perfkit.errors import PerfkitError, ProfileError
from perfkit.render.callgraph import diff_graph
from perfkit.render.graph_dot import to_dot
from perfkit.render.graph_layout import graph_figure
from perfkit.render.hot_graph import hot_graph
from perfkit.render.icicle import icicle_boxes, icicle_figure
from perfkit.rundir import load_run
from perfkit.selfbench.profiles import main as selfbench_main
from perfkit.selfbench.profiles import synthetic_stats, write_stats

FIXTURES = ROOT / "tests" / "fixtures" / "profiles"
META = json.loads((FIXTURES / "fixtures.json").read_text())


def fixture(name: str) -> Profile:
    info = META[name]
    return load_profile(FIXTURES / name, root=info["root"], calls=info["calls"])


def assert_matches_pstats(profile: Profile, path: Path) -> None:
    """Functions, edges and totals equal pstats' own numbers exactly (no tolerance)."""
    stats = pstats.Stats(str(path))
    f = profile.functions
    assert len(f) == len(stats.stats)
    key_of = {}
    for i, ((file, line, name), (cc, nc, tt, ct, _)) in enumerate(stats.stats.items()):
        assert (int(f["line"][i]), f["function"][i]) == (line, name)
        assert (int(f["ncalls"][i]), int(f["primcalls"][i])) == (nc, cc)
        assert (float(f["tottime"][i]), float(f["cumtime"][i])) == (tt, ct)
        key_of[(file, line, name)] = f["key"][i]
    assert profile.total_seconds == stats.total_tt
    assert profile.total_calls == stats.total_calls
    assert profile.primitive_calls == stats.prim_calls
    expected = [
        (key_of[caller], key_of[callee], value)
        for callee, (*_, callers) in stats.stats.items()
        for caller, value in callers.items()
    ]
    e = profile.edges
    assert len(e) == len(expected)
    for i, (caller, callee, value) in enumerate(expected):
        assert (e["caller"][i], e["callee"][i]) == (caller, callee)
        if isinstance(value, tuple):
            nc, cc, tt, ct = value
            assert (int(e["ncalls"][i]), int(e["primcalls"][i])) == (nc, cc)
            assert (float(e["tottime"][i]), float(e["cumtime"][i])) == (tt, ct)
        else:
            assert int(e["ncalls"][i]) == value


def test_cprofile_of_a_stdlib_tool_matches_pstats_exactly(tmp_path: Path) -> None:
    data = tmp_path / "in.json"
    records = [{"id": i, "name": f"item {i}", "tags": ["a", "b"][: i % 3]} for i in range(3000)]
    data.write_text(json.dumps(records))
    prof = tmp_path / "json_tool.prof"
    tool = ["-m", "json.tool", "--sort-keys", str(data), str(tmp_path / "out.json")]
    subprocess.run(
        [sys.executable, "-m", "cProfile", "-o", str(prof), *tool],
        check=True,
        timeout=120,
    )
    profile = load_profile(prof)
    assert_matches_pstats(profile, prof)
    assert profile.calls == 1
    files = set(profile.functions["file"])
    assert "<stdlib>/json/tool.py" in files
    assert "<stdlib>/json/encoder.py" in files
    assert not any("/lib/python3" in f for f in files)
    f = profile.functions
    main_key = f.loc[
        (f["file"] == "<stdlib>/json/tool.py") & (f["function"] == "main"), "key"
    ].item()
    callees = profile.callees(main_key)
    assert len(callees) > 3 and (callees["caller"] == main_key).all()
    boxes = icicle_boxes(profile)  # exec -> import -> exec recursion: the root is exec
    root = boxes[0]
    assert root.function == "<built-in method builtins.exec>" and root.depth == 0
    for parent in boxes:
        kids = [b for b in boxes if b.depth == parent.depth + 1 and parent.start <= b.start]
        kids = [b for b in kids if b.start + b.seconds <= parent.start + parent.seconds * 1.000001]
        assert sum(b.seconds for b in kids) <= parent.seconds * 1.000001


def test_fixtures_match_pstats_and_paths_are_root_relative() -> None:
    base = fixture("base.prof")
    assert_matches_pstats(base, FIXTURES / "base.prof")
    assert "workload.py:8(score)" in set(base.functions["key"])
    assert base.calls == META["base.prof"]["calls"]
    raw = load_profile(FIXTURES / "base.prof")  # without a root, paths stay as recorded
    assert f"{META['base.prof']['root']}/workload.py:8(score)" in set(raw.functions["key"])


def test_pure_python_profile_module_files_load_with_counts_only() -> None:
    profile = fixture("pure_python.prof")
    assert_matches_pstats(profile, FIXTURES / "pure_python.prof")
    assert profile.edges["tottime"].isna().all()
    assert icicle_boxes(profile)  # widths fall back to shares of calls


def test_diff_of_real_profiles_puts_the_slower_function_first() -> None:
    diff = diff_profiles(fixture("base.prof"), fixture("current.prof"))
    top = diff.iloc[0]
    assert (top["key"], top["status"]) == ("workload.py:12(score)", "changed")
    assert top["delta_tottime_seconds"] > 0
    # every function moved down a few lines, yet each one still matches its old self
    assert set(diff["status"]) == {"changed"}
    assert diff["delta_ncalls"].abs().max() < 0.01  # same calls per scenario call


def _stats_profile(tmp_path: Path, name: str, stats: dict, calls: int = 1) -> Profile:
    return load_profile(write_stats(stats, tmp_path / name), root="/checkout/app", calls=calls)


def test_diff_is_per_scenario_call_and_sorted_by_own_time_change(tmp_path: Path) -> None:
    stats = synthetic_stats(300, seed=3)
    doubled = {
        k: (cc * 2, nc * 2, tt * 2, ct * 2, callers)
        for k, (cc, nc, tt, ct, callers) in stats.items()
    }
    same = diff_profiles(
        _stats_profile(tmp_path, "a.prof", stats, calls=5),
        _stats_profile(tmp_path, "b.prof", doubled, calls=10),
    )
    assert same["delta_tottime_seconds"].abs().max() < 1e-15
    assert same["delta_ncalls"].abs().max() < 1e-12

    slower = synthetic_stats(300, seed=3, slower={42: 50.0})
    gone_key = next(k for k in slower if k[2] == "func_5")
    del slower[gone_key]
    slower[("/checkout/app/new_module.py", 1, "brand_new")] = (1, 1, 1e-6, 1e-6, {})
    diff = diff_profiles(
        _stats_profile(tmp_path, "a.prof", stats), _stats_profile(tmp_path, "c.prof", slower)
    )
    assert diff.iloc[0]["function"] == "func_42"
    change = diff["delta_tottime_seconds"].abs().to_numpy()
    assert (change[:-1] >= change[1:]).all()
    status = dict(zip(diff["function"], diff["status"], strict=True))
    assert (status["func_5"], status["brand_new"], status["func_6"]) == ("gone", "new", "changed")
    new = diff[diff["function"] == "brand_new"].iloc[0]
    assert new["file"] == "new_module.py" and new["baseline_tottime_seconds"] == 0.0


def test_diff_ignores_memory_addresses_in_builtin_names(tmp_path: Path) -> None:
    def stats(address: str) -> dict:
        new = ("~", 0, f"<built-in method __new__ of type object at {address}>")
        return {new: (4, 4, 0.25, 0.25, {}), ("/checkout/app/m.py", 1, "f"): (1, 1, 0.1, 0.1, {})}

    diff = diff_profiles(
        _stats_profile(tmp_path, "a.prof", stats("0x7f00aa")),
        _stats_profile(tmp_path, "b.prof", stats("0x7f11bb")),
    )
    assert list(diff["status"]) == ["changed", "changed"]
    assert "{built-in method __new__ of type object at 0x7f11bb}" in set(diff["key"])


def test_top_find_callers_and_callees() -> None:
    profile = fixture("current.prof")
    assert profile.top(1)["key"][0] == "workload.py:12(score)"
    assert (
        list(profile.top(3, by="cumtime")["cumtime"])
        == sorted(profile.functions["cumtime"], reverse=True)[:3]
    )
    assert profile.find("score") == "workload.py:12(score)"
    assert list(profile.callers("score")["caller"]) == ["{built-in method builtins.sorted}"]
    assert profile.callees("scenario")["callee"][0] == "workload.py:21(rank)"
    with pytest.raises(ProfileError, match="matches"):
        profile.find("workload.py")
    with pytest.raises(ProfileError, match="no function"):
        profile.find("nothing_like_this")
    assert (
        profile.top(2, by="function")["function"].tolist()
        == sorted(profile.functions["function"])[:2]
    )
    with pytest.raises(ProfileError, match="cannot sort"):
        profile.top(by="seconds")


@pytest.mark.parametrize(
    ("recorded", "short"),
    [
        (
            "/home/ann/proj/.venv/lib/python3.12/site-packages/numpy/core/a.py",
            "<site-packages>/numpy/core/a.py",
        ),
        ("/usr/lib/python3/dist-packages/yaml/x.py", "<site-packages>/yaml/x.py"),
        ("/home/ann/proj/app/models.py", "app/models.py"),
        ("/opt/python/lib/python3.9/json/decoder.py", "<stdlib>/json/decoder.py"),
        ("C:\\Python311\\Lib\\json\\decoder.py", "<stdlib>/json/decoder.py"),
        ("/elsewhere/tool.py", "/elsewhere/tool.py"),
        ("~", "~"),
        ("<frozen importlib._bootstrap>", "<frozen importlib._bootstrap>"),
        ("<string>", "<string>"),
    ],
)
def test_paths_are_shortened_so_checkouts_and_machines_match(recorded: str, short: str) -> None:
    assert PathShortener("/home/ann/proj")(recorded) == short


def test_function_keys_spell_like_pstats() -> None:
    assert (
        function_key("~", 0, "<built-in method builtins.len>") == "{built-in method builtins.len}"
    )
    assert function_key("app/m.py", 3, "f") == "app/m.py:3(f)"
    assert function_key("~", 0, pstats.func_std_string(("~", 0, "x"))) == "x"


def _bad_files(tmp_path: Path) -> dict[str, Path]:
    good = (FIXTURES / "base.prof").read_bytes()
    files = {
        "empty": b"",
        "truncated": good[: len(good) // 2],
        "garbage": b"this is not a profile\n",
        "list": marshal.dumps([1, 2, 3]),
        "shape": marshal.dumps({("a.py", 1, "f"): (1, 2)}),
        "keys": marshal.dumps({"abc": (1, 1, 0.1, 0.1, {})}),
        "nothing": marshal.dumps({}),
        "other_python": b"{\x00\x00\x00",
    }
    paths = {}
    for name, data in files.items():
        paths[name] = tmp_path / f"{name}.prof"
        paths[name].write_bytes(data)
    paths["missing"] = tmp_path / "missing.prof"
    paths["directory"] = tmp_path
    return paths


def test_bad_profiles_raise_one_line_naming_the_file(tmp_path: Path) -> None:
    messages = {}
    for name, path in _bad_files(tmp_path).items():
        with pytest.raises(ProfileError) as caught:
            load_profile(path)
        text = str(caught.value)
        assert str(path) in text and "\n" not in text, name
        messages[name] = text
    assert "empty" in messages["empty"]
    assert "truncated" in messages["truncated"]
    assert "another Python version" in messages["other_python"]
    assert "not a pstats profile" in messages["list"]
    assert "no such" in messages["missing"]
    assert issubclass(ProfileError, PerfkitError)


def test_call_graph_pictures_without_graphviz(tmp_path: Path) -> None:
    base, current = fixture("base.prof"), fixture("current.prof")
    png = diff_graph(base, current, tmp_path / "graph.png", engine="matplotlib")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = diff_graph(base, current, tmp_path / "graph.svg", engine="matplotlib")
    assert "<svg" in svg.read_text()
    dot = diff_graph(base, current, tmp_path / "graph.dot").read_text()
    assert dot.startswith("digraph")
    graph = hot_graph(current, base)
    score = next(n for n in graph.nodes if n.function == "score")
    assert score.change_share is not None and score.change_share > 0.5
    assert f'label="{score.function}' in dot
    with pytest.raises(PerfkitError, match="format"):
        diff_graph(base, current, tmp_path / "graph.bmp")


@pytest.mark.skipif(shutil.which("dot") is not None, reason="Graphviz is installed here")
def test_graphviz_engine_without_dot_says_so(tmp_path: Path) -> None:
    with pytest.raises(PerfkitError, match="Graphviz"):
        diff_graph(None, fixture("current.prof"), tmp_path / "g.png", engine="graphviz")
    assert diff_graph(None, fixture("current.prof"), tmp_path / "g.png").exists()  # auto


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` is not installed")
def test_graphviz_engine_draws_when_dot_is_installed(tmp_path: Path) -> None:
    out = diff_graph(fixture("base.prof"), fixture("current.prof"), tmp_path / "g.svg")
    assert "<svg" in out.read_text()


def test_selfbench_profiles_runs(capsys: pytest.CaptureFixture[str]) -> None:
    rc = selfbench_main(["--functions", "300", "--rounds", "1"])
    out = capsys.readouterr().out
    assert "ratio perfkit/pstats" in out
    # Met or missed depends on the machine; the exit code must say which was printed.
    assert rc == (0 if ": met" in out else 1) and (": MISSED" in out) == (rc == 1)


def test_hot_graph_is_pruned_and_cycles_do_not_hang(tmp_path: Path) -> None:
    stats = synthetic_stats(3000, seed=7)
    a, b = ("/checkout/app/r.py", 1, "ping"), ("/checkout/app/r.py", 9, "pong")
    stats[a] = (1, 1, 0.5, 2.0, {b: (1, 1, 0.5, 1.5)})
    stats[b] = (1, 1, 0.5, 1.9, {a: (1, 1, 0.5, 1.9)})
    profile = _stats_profile(tmp_path, "cyc.prof", stats)
    graph = hot_graph(profile, node_share=0.0, max_nodes=25)
    assert len(graph.nodes) == 25
    assert {"ping", "pong"} <= {n.function for n in graph.nodes}
    texts = graph_figure(graph).axes[0].texts
    assert sum(t.get_bbox_patch() is not None for t in texts) == 25  # one box per node
    assert to_dot(graph).count("->") == len(graph.edges)


def test_icicle_is_built_from_edges() -> None:
    profile = fixture("current.prof")
    boxes = icicle_boxes(profile)
    roots = [b for b in boxes if b.depth == 0]
    assert roots[0].function == "<lambda>"
    by_depth = {(b.depth, b.function): b for b in boxes}
    assert (
        by_depth[(4, "score")].seconds <= by_depth[(3, "<built-in method builtins.sorted>")].seconds
    )
    fig = icicle_figure(profile)
    assert fig.axes and fig.axes[0].patches


def test_profiling_pass_covers_the_reported_number_of_calls(tmp_path: Path) -> None:
    counter = {"n": 0}

    def body() -> int:
        counter["n"] += 1
        return sum(range(50))

    out = tmp_path / "p" / "x.prof"
    payload = profile_pass(body, {"prof_path": str(out), "profile_min_seconds": 0.01})
    assert payload["prof_path"] == str(out) and payload["seconds"] >= 0.01
    profile = load_profile(out, calls=payload["calls"])
    row = profile.functions[profile.functions["function"] == "body"].iloc[0]
    assert row["ncalls"] == payload["calls"] < counter["n"]  # warm-up calls are not in it
    assert not list(out.parent.glob(".*.tmp"))


@pytest.fixture(scope="module")
def profiled_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs")
    proc = perfkit_cli(
        "run",
        str(SUITES / "basic_suite.py"),
        "--quick",
        "--workers",
        "1",
        "--profile",
        "--profile-workers",
        "2",
        "--only",
        "sum_range*",
        "--target",
        f"current={ROOT}",
        "--out",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr
    return Path(proc.stdout.strip().splitlines()[-1])


def test_run_profile_pass_end_to_end(profiled_run: Path) -> None:
    files = sorted((profiled_run / "profiles" / "current").glob("*.prof"))
    assert [f.name for f in files] == [
        "sum_range[n=100].prof",
        "sum_range[n=100].w1.prof",
        "sum_range[n=200].prof",
        "sum_range[n=200].w1.prof",
    ]
    for file in files:
        assert pstats.Stats(str(file)).total_calls > 0
    run = load_run(profiled_run)
    assert list(run.profiles["target"]) == ["current"] * 4
    assert (run.profiles["calls"] > 0).all()
    profile = load_run_profile(run, "current", "sum_range[n=200]")
    rows = run.profiles[run.profiles["params"] == "n=200"]
    assert profile.calls == int(rows["calls"].iloc[0])
    lam = profile.functions[profile.functions["function"] == "<lambda>"].iloc[0]
    assert lam["file"] == "tests/suites/basic_suite.py"  # root: the target's path (the repo)
    assert lam["ncalls"] == profile.calls
    workers = load_run_profiles(run, "current", "sum_range[n=200]")
    assert sorted(p.calls for p in workers) == sorted(int(c) for c in rows["calls"])
    # load_profile on a run's own file finds the target root and the calls by itself
    for file, calls in zip(rows["file"], rows["calls"], strict=True):
        alone = load_profile(profiled_run / file)
        assert alone.calls == int(calls)
        assert alone.root == str(ROOT)
        assert "tests/suites/basic_suite.py" in set(alone.functions["file"])
    with pytest.raises(ProfileError, match="no profile of"):
        load_run_profile(run, "baseline", "sum_range[n=200]")


def test_timing_workers_take_the_profiles_of_a_dear_setup_only(tmp_path: Path) -> None:
    """Three timing rounds, two profiles a side, one round at a time. The benchmark whose
    setup costs more than a profile has both taken by its timing workers once the first
    showed that (rounds 2 and 3): three processes ran it. The light one starts its two
    profiling workers as before: five. The profiles are whole pstats files of warm calls."""
    marker = tmp_path / "ran.txt"
    proc = perfkit_cli(
        "run", str(SUITES / "setup_suite.py"), "--workers", "3", "--processes", "1",
        "--profile", "--profile-workers", "2", "--target", f"current={ROOT}",
        "--out", str(tmp_path / "runs"),
        env={**os.environ, "PERFKIT_TEARDOWN_MARKER": str(marker)},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    ran = marker.read_text().split()
    assert (ran.count("heavy_setup"), ran.count("light_setup")) == (3, 5)
    run = load_run(Path(proc.stdout.strip().splitlines()[-1]))
    assert set(run.samples.groupby("benchmark")["worker"].nunique()) == {3}
    for name in ("heavy_setup", "light_setup"):
        profiles = load_run_profiles(run, "current", name)
        assert len(profiles) == 2
        for profile in profiles:
            row = profile.functions[profile.functions["function"] == "<lambda>"].iloc[0]
            assert row["ncalls"] == profile.calls > 0  # only the profiled loop, no warm-up


def test_view_serves_snakeviz_on_localhost(profiled_run: Path) -> None:
    args = ["view", str(profiled_run), "sum_range[n=100]", "--no-browser"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "perfkit", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), url or proc.stderr.read()
        with urllib.request.urlopen(url, timeout=30) as response:
            assert response.status == 200
            assert b"snakeviz" in response.read().lower()
    finally:
        proc.terminate()
        code = proc.wait(timeout=30)
    assert code == 0
    with pytest.raises(OSError):
        urllib.request.urlopen(url, timeout=5)  # snakeviz stopped with it


def test_view_errors_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(["view", str(tmp_path / "no-such-run"), "x", "--no-browser"]) == 2
    target = {"current": {"spec": "here", "path": str(tmp_path)}}
    empty = build_run(tmp_path, target)
    assert cli_main(["view", str(empty), "x", "--no-browser"]) == 2
    row = {"benchmark": "f", "params": "", "target": "current", "calls": 3, "seconds": 0.1}
    run_dir = build_run(tmp_path, target, profiles=[{**row, "file": "profiles/current/f.prof"}])
    bad = run_dir / "profiles" / "current" / "f.prof"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"garbage")
    assert cli_main(["view", str(run_dir), "f", "--no-browser"]) == 2
    assert cli_main(["view", str(run_dir), "g", "--no-browser"]) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line]
    assert len(lines) == 4
    assert "not found" in lines[0]
    assert "no profiles" in lines[1]
    assert str(bad) in lines[2] and "not a pstats profile" in lines[2]
    assert "no profile of 'g'" in lines[3]


def test_view_picks_the_profile_meant(tmp_path: Path) -> None:
    from perfkit.commands.view import choose

    rows = [
        {"benchmark": "f", "params": "n=1", "target": label, "calls": 1, "seconds": 0.1}
        for label in ("baseline", "current", "other")
    ] + [{"benchmark": "g", "params": "", "target": "other", "calls": 1, "seconds": 0.1}]
    profiles = [{**row, "file": "x.prof"} for row in rows]
    run = load_run(build_run(tmp_path, {}, profiles=profiles))
    assert choose(run, "f[n=1]", None) == ("f[n=1]", "current")
    assert choose(run, "f", "baseline") == ("f[n=1]", "baseline")
    assert choose(run, "g", None) == ("g", "other")
    with pytest.raises(ProfileError, match="for target 'nope'"):
        choose(run, "f[n=1]", "nope")
    with pytest.raises(ProfileError, match="no profile of 'h'"):
        choose(run, "h", None)
