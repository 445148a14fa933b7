"""Culprits on stored profiles of known structure (tests/fixtures/profiles/culprits, made by
make_profiles.py): three profiling workers a side, real cProfile files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from perfkit.analysis.culprit_words import culprit_text, format_count, short_name, summary_lines
from perfkit.analysis.culprits import find_culprits, is_own_code
from perfkit.analysis.profiles import Profile, load_profile

HERE = Path(__file__).resolve().parent / "fixtures" / "profiles" / "culprits"
META = json.loads((HERE / "fixtures.json").read_text(encoding="utf-8"))


def _side(case: str, side: str) -> list[Profile]:
    return [
        load_profile(HERE / case / name, root=info["root"], calls=info["calls"])
        for name, info in sorted(META[case].items())
        if name.startswith(side)
    ]


@pytest.fixture(scope="module")
def code_change():
    return find_culprits(_side("code", "baseline"), _side("code", "current"))


def test_own_code_changes_are_named_callers_not_the_callees_they_call_more(code_change) -> None:
    named = [c.function for c in code_change.named(3)]
    assert set(named[:2]) == {"checkout", "clean"}  # the two edited functions
    audit = next(c for c in code_change.culprits if c.function == "audit")
    assert audit.status == "new" and audit.delta_seconds > 0  # new code (small: maybe noise)
    price = next(c for c in code_change.culprits if c.function == "price")
    assert price.current_calls == 2 * price.baseline_calls  # called twice as often...
    assert "price" not in named  # ...but unchanged itself: checkout is what changed
    assert code_change.own_structure_changed and not code_change.dependency_suspected


def test_call_count_changes_are_shown_as_they_are(code_change) -> None:
    clean = next(c for c in code_change.culprits if c.function == "clean")
    sub = next(e for e in clean.edges if e.function == "sub")
    assert (sub.baseline_per_caller_call, sub.current_per_caller_call) == (1.0, 3.0)
    assert sub.status == "more" and sub.cost_seconds > 0
    text = culprit_text(clean)
    assert "`clean` (shop.py:10): +" in text
    assert "`re.sub` 1 → 3 per `clean` call (+200 %, +300 per scenario call" in text
    checkout = next(c for c in code_change.culprits if c.function == "checkout")
    assert "`price` 150 → 300 per `checkout` call (+100 %" in culprit_text(checkout)
    assert format_count(4 / 3) == "1.33" and format_count(1.0) == "1"


def test_culprits_carry_a_ci_over_profiling_workers(code_change) -> None:
    assert code_change.baseline_workers == code_change.current_workers == 3
    for c in code_change.named(3):
        assert 0 < c.ci_low <= c.delta_seconds <= c.ci_high
    within = [c for c in code_change.culprits if not c.significant]
    assert within, "some functions changed only within the workers' spread"


def test_accounting_says_how_much_the_culprits_explain(code_change) -> None:
    lines = summary_lines(code_change)
    assert lines[-1].startswith("Under the profiler the scenario went ")
    assert "3 vs 3 profiling workers" in lines[-1]
    assert "named culprit(s) account for +" in lines[-1]


def test_a_changed_dependency_is_said_to_be_one() -> None:
    report = find_culprits(_side("dependency", "baseline"), _side("dependency", "current"))
    assert not report.own_structure_changed
    assert report.dependency_suspected
    assert report.named(1)[0].function == "receipt"  # where own code meets the library
    text = "\n".join(summary_lines(report))
    assert "A dependency changed, not your code" in text
    assert "textlib" in text


def test_improvements_rank_the_other_way() -> None:
    report = find_culprits(_side("code", "current"), _side("code", "baseline"))
    assert report.direction == -1
    assert {c.function for c in report.named(2)} == {"checkout", "clean"}
    gone = next(c for c in report.culprits if c.function == "audit")
    assert gone.status == "gone" and gone.delta_seconds < 0
    assert "no more calls to `re.sub`" not in culprit_text(report.named(2)[0])  # fewer, not gone


def test_one_profile_a_side_still_works_without_a_ci() -> None:
    report = find_culprits(_side("code", "baseline")[0], _side("code", "current")[0])
    assert {c.function for c in report.named(2)} == {"checkout", "clean"}


@pytest.mark.parametrize(
    ("file", "rooted", "own"),
    [
        ("shop.py", True, True),
        ("pkg/text.py", True, True),
        ("/abs/suite.py", True, False),
        ("<stdlib>/re/__init__.py", True, False),
        ("<site-packages>/textlib.py", False, False),
        ("~", False, False),
        ("/abs/suite.py", False, True),
    ],
)
def test_own_code_is_what_lies_under_the_root(file: str, rooted: bool, own: bool) -> None:
    assert is_own_code(file, rooted) is own


def test_library_names_read_like_code() -> None:
    assert short_name("<method 'match' of 're.Pattern' objects>") == "re.Pattern.match"
    assert short_name("<built-in method builtins.sorted>") == "builtins.sorted"
    assert short_name("sub", "<stdlib>/re/__init__.py") == "re.sub"
    assert short_name("render", "<site-packages>/markdown/core.py") == "markdown.core.render"
    assert short_name("split_artists", "pkg/text.py") == "split_artists"


def test_compare_prints_the_culprit_of_a_real_regression(tmp_path: Path) -> None:
    """A real interleaved run of the corpus library with a big edit to one function."""
    import sys

    from conftest import perfkit_cli

    corpus = Path(__file__).resolve().parent / "culprit_corpus"
    sys.path.insert(0, str(corpus))
    try:
        import edits
    finally:
        sys.path.remove(str(corpus))
    edit = edits.Edit(
        "many-passes",
        "parse_catalogue",
        "textmatch/parse.py",
        "split_artists",
        "    parts = _ARTIST_SPLIT.split(text)\n",
        "    for _ in range(30):\n        text = re.sub(r'\\s*/\\s*', ', ', text)\n"
        "    parts = _ARTIST_SPLIT.split(text)\n",
        "thirty more regex passes",
    )
    edited = edits.apply(edit, tmp_path / "edited")
    proc = perfkit_cli(
        "run",
        str(corpus / "suite.py"),
        "--only",
        "parse_catalogue",
        "--quick",
        "--workers",
        "6",
        "--profile",
        "--target",
        f"baseline={edits.BASE}",
        "--target",
        f"current={edited}",
        "--out",
        str(tmp_path / "runs"),
    )
    assert proc.returncode == 0, proc.stderr
    run_dir = proc.stdout.strip().splitlines()[-1]
    shown = perfkit_cli("compare", run_dir, "--runs-dir", str(tmp_path / "runs"))
    assert shown.returncode == 0, shown.stderr
    line = next(x for x in shown.stdout.splitlines() if x.startswith("culprit "))
    assert line.startswith("culprit parse_catalogue: split_artists (textmatch/parse.py:")
    assert "new calls to re.sub, 30 per split_artists call" in line
    # README's Python examples on the same run: the same answer as the command line
    import perfkit

    report = perfkit.culprits(run_dir, benchmark="parse_catalogue")
    assert report.named(1)[0].function == "split_artists"
    assert report.baseline_workers == report.current_workers == 2  # --quick: two a side
    first = Path(run_dir) / "profiles" / "current" / "parse_catalogue.prof"
    alone = perfkit.load_profile(first)
    # One call when it alone lasted the profile's minimum time (--quick: 0.1 s), as it can
    # on a box busy with the rest of the suite (seen once in a full run: calls == 1).
    assert alone.root == str(edited) and alone.calls >= 1
    assert "textmatch/parse.py" in set(alone.functions["file"])
    base = perfkit.load_profile(Path(run_dir) / "profiles" / "baseline" / "parse_catalogue.prof")
    diff = perfkit.diff_profiles(base, alone)
    row = diff[diff["function"] == "split_artists"].iloc[0]
    assert row["status"] == "changed" and row["delta_cumtime_seconds"] > 0


_CACHED = """
_CACHE = {}


def normalise(text):
    return " ".join(text.lower().split())


def lookup(query):
    hit = _CACHE.get(query)
    if hit is None:
        hit = _CACHE[query] = normalise(query)
    return hit


def scenario(queries):
    return [lookup(q) for q in queries]
"""
_UNCACHED = _CACHED.replace(
    "    hit = _CACHE.get(query)\n    if hit is None:\n        hit = _CACHE[query] = normalise(query)\n"
    "    return hit\n",
    "    return normalise(query)\n",
)


def _profiles(tmp_path: Path, name: str, source: str, workers: int = 3) -> list[Profile]:
    import importlib.util

    from perfkit.collect.profiling import profile as profile_pass

    root = tmp_path / name
    root.mkdir()
    (root / "cachemod.py").write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(f"cachemod_{name}", root / "cachemod.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    queries = [f"  Some  Query {i % 40} " for i in range(200)]
    out = []
    for k in range(workers):
        path = root / f"w{k}.prof"
        done = profile_pass(
            lambda: module.scenario(queries), {"prof_path": str(path), "profile_min_seconds": 0.05}
        )
        out.append(load_profile(path, root=root, calls=done["calls"]))
    return out


def test_a_cache_that_stopped_hitting_is_its_callers_change(tmp_path: Path) -> None:
    """normalise is in both sources but runs only in current: lookup's new call site is
    the change, not 'new code'."""
    report = find_culprits(
        _profiles(tmp_path, "base", _CACHED), _profiles(tmp_path, "cur", _UNCACHED)
    )
    first = report.named(1)[0]
    assert first.function == "lookup"
    assert any(e.function == "normalise" and e.status == "new" for e in first.edges)
    normalise = next(c for c in report.culprits if c.function == "normalise")
    assert normalise.status == "called" and normalise.delta_seconds == 0
