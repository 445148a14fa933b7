"""The run contract (perfkit.rundir): ids, schema and its versions, integrity, references.

Rows of issue 14 kept here: 4 (long ids share a .prof), 5 (ambiguous param values),
8 (a truncated samples.csv read as numbers), 9 (run.json with wrong types), 12 (runs of
the same second ordered by their random suffix).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from helpers.runs import build_run, sample_rows, shifted_run

from perfkit.analysis.budgets import budgets_note, check_budgets
from perfkit.analysis.comparison import compare
from perfkit.cli import main as cli_main
from perfkit.collect.suite import benchmark, parse_params_text
from perfkit.config.project import load_config
from perfkit.errors import PerfkitError, RunDirError, SuiteError
from perfkit.report.data import resolve_sides as report_sides
from perfkit.rundir import (
    RUN_JSON,
    SAMPLES_CSV,
    RunWriter,
    case_id,
    load_run,
    resolve_run_path,
    safe_filename,
    split_case_id,
)
from perfkit.rundir.ids import format_params, match_params, split_params
from perfkit.rundir.refs import pick_label, pick_sides
from perfkit.rundir.schema import (
    SCHEMA_VERSION,
    BudgetRecord,
    CaseRecord,
    RunInfo,
    WorkerReply,
    WorkerRequest,
)

FIXTURES = Path(__file__).parent / "fixtures" / "runs"
REPO = Path(__file__).parent.parent


# ids (issue 14 rows 4 and 5)

ODD = {"q": ["a,b", "c=d", "x]", 'say "hi"', "plain", ""], "x": [1, "1", 1.0, True, "True", None]}


def test_odd_param_values_give_distinct_ids_that_round_trip() -> None:
    @benchmark(params=ODD)
    def odd(q, x):
        return lambda: None

    cases = odd.cases()
    ids = [c.id for c in cases]
    assert len(set(ids)) == len(cases) == 36  # before: "1" and 1 gave one id, a case vanished
    for case in cases:
        name, text = split_case_id(case.id)
        assert name == "odd" and text == case.params_text
        back = parse_params_text(text, odd.params)  # what the worker does with a request
        assert back == case.params
        assert [type(v) for v in back.values()] == [type(v) for v in case.params.values()]
    assert case_id("odd", {"q": "a,b", "x": "1"}) == 'odd[q="a,b",x="1"]'
    assert case_id("odd", {"q": "plain", "x": 1}) == "odd[q=plain,x=1]"  # ordinary ids unchanged


def test_ids_of_ordinary_params_stay_as_they_were() -> None:
    assert format_params({"n": 100, "mode": "fast", "name": "a b/c", "r": 0.5}) == (
        "n=100,mode=fast,name=a b/c,r=0.5"
    )
    assert split_params('q="a,b",n=1') == [("q", '"a,b"'), ("n", "1")]
    with pytest.raises(ValueError, match="no value"):
        match_params("n=3", {"n": [1, 2]})
    for bad in ("n", "n=1,", 'q="open'):
        with pytest.raises(ValueError, match="bad params"):
            split_params(bad)


def test_values_that_print_alike_are_refused_not_dropped() -> None:
    class Thing:
        def __str__(self) -> str:
            return "same"

    @benchmark(params={"t": [Thing(), Thing()]})
    def alike(t):
        return lambda: None

    with pytest.raises(SuiteError, match="give the same id alike\\[t=same\\]"):
        alike.cases()


def test_long_ids_that_differ_at_the_end_get_different_profile_files(tmp_path: Path) -> None:
    first = case_id("f", {"p": "x" * 299 + "a"})
    second = case_id("f", {"p": "x" * 299 + "b"})
    assert safe_filename(first) != safe_filename(second)  # before: both cut to 150 chars
    assert len(safe_filename(first)) <= 150
    writer = RunWriter.create(tmp_path, {"targets": {"current": {}}})
    assert writer.profile_path("current", first) != writer.profile_path("current", second)
    assert safe_filename("short[n=1]") == "short[n=1]"  # safe short names stay readable


# schema: types, versions, messages


def test_run_json_with_wrong_types_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = build_run(tmp_path, samples=sample_rows(_rng(), "f", "", "current", 1e-3, 3))
    meta = json.loads((run_dir / RUN_JSON).read_text())
    (run_dir / RUN_JSON).write_text(json.dumps({**meta, "targets": 5}))
    with pytest.raises(RunDirError, match="'targets' must be an object, got 5"):
        load_run(run_dir)
    assert cli_main(["show", str(run_dir)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "run.json: 'targets' must be an object, got 5" in err[0]
    for field, value, wanted in (
        (
            "cases",
            {"f": {"id": "f", "budget_seconds": "fast"}},
            "'budget_seconds' must be a number",
        ),
        ("interleaved", "yes", "'interleaved' must be true or false"),
        ("created", 7, "'created' must be a string"),
    ):
        (run_dir / RUN_JSON).write_text(json.dumps({**meta, field: value}))
        with pytest.raises(RunDirError, match=wanted):
            load_run(run_dir)


def test_a_newer_schema_is_refused_in_one_line(tmp_path: Path) -> None:
    run_dir = build_run(tmp_path, samples=sample_rows(_rng(), "f", "", "current", 1e-3, 3))
    meta = json.loads((run_dir / RUN_JSON).read_text())
    (run_dir / RUN_JSON).write_text(json.dumps({**meta, "schema": SCHEMA_VERSION + 1}))
    with pytest.raises(RunDirError, match=r"schema 3 is not one this perfkit reads .*upgrade"):
        load_run(run_dir)


def test_records_round_trip_through_json() -> None:
    case = CaseRecord("f[n=1]", "f", "n=1", budget_seconds=0.5, nodeid="t.py::f")
    info = RunInfo(
        id="r",
        cases={case.id: case},
        budgets=(BudgetRecord(case.id, "time", 0.5, "500 ms", "decorator"),),
    )
    assert RunInfo.from_json(json.loads(json.dumps(info.to_json()))) == info
    request = WorkerRequest(mode="time", suite="s.py", name="f", params="n=1", hash_seed=3)
    assert WorkerRequest.from_json(request.to_json()) == request
    reply = WorkerReply(ok=True, cases=(case,))
    assert WorkerReply.from_json(json.loads(json.dumps(reply.to_json()))) == reply
    with pytest.raises(RunDirError, match="unknown mode 'sing'"):
        WorkerRequest.from_json({**request.to_json(), "mode": "sing"})


def test_the_worker_side_of_the_contract_imports_no_pandas() -> None:
    code = (
        "import sys, perfkit.collect.worker, perfkit.collect.suite, perfkit.rundir, "
        "perfkit.rundir.schema, perfkit.rundir.ids, perfkit.rundir.writer\n"
        "assert 'pandas' not in sys.modules, 'pandas imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# stored run directories: the previous schema still loads and gives the same verdicts


@pytest.mark.parametrize("name", ["v1_interleaved", "v2_interleaved"])
def test_stored_runs_load_and_give_the_verdicts_they_were_written_with(
    tmp_path: Path, name: str
) -> None:
    expected = json.loads((FIXTURES / f"{name}.json").read_text())
    run = load_run(shutil.copytree(FIXTURES / name, tmp_path / name))
    assert run.info.schema == SCHEMA_VERSION and run.targets == ["baseline", "current"]
    assert set(run.cases) == {"grow[mode=plain]", "same", "shrink"}
    result = compare(run)
    ratios = dict(zip(result.table["id"], result.table["ratio"], strict=True))
    assert ratios == pytest.approx(expected["ratios"], rel=1e-9)
    # The same samples written by today's writer give the same verdicts (the verdict rule
    # itself may have changed since the run was made; the stored file must not matter).
    samples = run.samples.to_dict("records")
    rewritten = compare(build_run(tmp_path / "now", run.targets, samples=samples))
    assert rewritten.table["verdict"].tolist() == result.table["verdict"].tolist()
    budgets = check_budgets(run, "current", config=load_config(FIXTURES / "perfkit.toml"))
    assert budgets["status"].tolist() == [b["status"] for b in expected["budgets"]]
    assert run.profile_file("current", "grow[mode=plain]") is not None


def test_a_schema_1_run_says_its_budgets_come_from_todays_files() -> None:
    run = load_run(FIXTURES / "v1_interleaved")
    assert run.info.budgets is None
    assert "recorded no budgets" in (budgets_note(run) or "")
    assert budgets_note(load_run(FIXTURES / "v2_interleaved")) is None


# integrity (issue 14 row 8)


def test_a_samples_file_cut_inside_a_number_is_not_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = sample_rows(_rng(), "f", "", "baseline", 7.68874e-08, 3)
    rows += sample_rows(_rng(), "f", "", "current", 7.68874e-08, 3)
    rows[-1]["seconds"] = "7.68874e-08"
    run_dir = build_run(tmp_path, ("baseline", "current"), samples=rows)
    samples = run_dir / SAMPLES_CSV
    text = samples.read_text()
    samples.write_text(text[: text.rindex("e-08")])  # cut inside the last number
    with pytest.raises(RunDirError, match=r"samples\.csv: truncated"):
        load_run(run_dir)
    samples.write_text(text[: text.rindex("e-08")] + "\n")  # even with a line end added
    with pytest.raises(RunDirError, match=r"samples\.csv: truncated"):
        load_run(run_dir)
    samples.write_text(text.replace("baseline", "basel1ne", 1))
    with pytest.raises(RunDirError, match=r"samples\.csv: changed since perfkit wrote it"):
        load_run(run_dir)
    assert cli_main(["compare", str(run_dir)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "samples.csv" in err[0]


def test_a_whole_newer_write_with_a_lost_run_json_update_still_loads(tmp_path: Path) -> None:
    run_dir = build_run(tmp_path, samples=sample_rows(_rng(), "f", "", "current", 1e-3, 2))
    before = (run_dir / RUN_JSON).read_text()
    writer_rows = sample_rows(_rng(), "g", "", "current", 1e-3, 1)
    with (run_dir / SAMPLES_CSV).open("a") as handle:  # as if killed before run.json's update
        for row in writer_rows:
            handle.write(",".join(str(row[c]) for c in row) + "\n")
    assert (run_dir / RUN_JSON).read_text() == before
    assert set(load_run(run_dir).samples["benchmark"]) == {"f", "g"}


# latest (issue 14 row 12)


def test_latest_is_the_newest_run_even_within_one_second(tmp_path: Path) -> None:
    older = build_run(tmp_path, run_id="20261127T010101-ffff")
    newer = build_run(tmp_path, run_id="20261127T010101-0000")
    created = [load_run(p).info.created_at for p in (older, newer)]
    assert created[0] is not None and created[1] is not None and created[0] < created[1]
    assert resolve_run_path("latest", tmp_path) == newer  # before: the bigger random suffix
    assert load_run("latest", tmp_path).id == "20261127T010101-0000"


# sides: one rule for compare, report and view


def test_one_rule_for_the_sides_of_one_run() -> None:
    assert pick_sides(["a", "b", "c"], run_id="r") == ("a", "b")  # compare used to refuse
    assert pick_sides(["x", "current", "baseline"], run_id="r") == ("baseline", "current")
    assert pick_sides(["a", "b", "c"], current="c", run_id="r") == ("a", "c")
    assert pick_sides(["a", "b", "c"], baseline="b", run_id="r") == ("b", "a")
    with pytest.raises(PerfkitError, match="give a CURRENT run"):
        pick_sides(["a"], run_id="r")
    with pytest.raises(PerfkitError, match="has no target 'z'"):
        pick_sides(["a", "b"], baseline="z", run_id="r")
    assert pick_label(["main"], "current", "r") == "main"
    with pytest.raises(PerfkitError, match="say which is the current"):
        pick_label(["a", "b"], "current", "r")


def test_compare_report_and_view_agree_on_three_targets(tmp_path: Path) -> None:
    from perfkit.commands.view import choose

    rows = []
    for label, seconds in (("old", 1e-3), ("new", 1.3e-3), ("other", 2e-3)):
        rows += sample_rows(_rng(), "f", "", label, seconds, 4)
    profiles = [
        {"benchmark": "f", "params": "", "target": t, "calls": 1, "seconds": 0.1, "file": "x"}
        for t in ("old", "new", "other")
    ]
    run_dir = build_run(tmp_path, ("old", "new", "other"), samples=rows, profiles=profiles)
    result = compare(run_dir)
    sides, _ = report_sides(run_dir)
    assert (result.baseline.label, result.current.label) == ("old", "new")
    assert [s.label for s in sides] == ["old", "new"]
    assert choose(load_run(run_dir), "f", None) == ("f", "new")


def test_two_runs_need_their_roles_named_or_a_single_target(tmp_path: Path) -> None:
    run_dir = shifted_run(tmp_path, 0)
    single = build_run(
        tmp_path, ("main",), samples=sample_rows(_rng(), "grow", "", "main", 1e-3, 3)
    )
    result = compare(run_dir, single)
    assert (result.baseline.label, result.current.label) == ("baseline", "main")


# budgets recorded at run time


def test_a_run_keeps_the_budgets_it_was_run_with(tmp_path: Path) -> None:
    from perfkit.collect.scheduler import run_suite
    from perfkit.collect.targets import parse_targets
    from perfkit.config import DEFAULT_PLAN

    suite_dir = tmp_path / "suite"
    suite_dir.mkdir()
    for name in ("suite.py", "perfkit.toml"):
        shutil.copy(FIXTURES / name, suite_dir / name)
    shift = REPO / "tests" / "suites" / "shift_targets" / "current"
    plan = replace(DEFAULT_PLAN.quick(), workers=3, worker_seconds=0.01)
    result = run_suite(
        str(suite_dir / "suite.py"),
        parse_targets([f"current={shift}"]),
        tmp_path / "runs",
        plan=plan,
        only="s*",
    )
    run = load_run(result.path)
    recorded = {(b.id, b.kind): (b.text, b.source.split(" ")[0]) for b in run.info.budgets or ()}
    assert recorded == {
        ("same", "time"): ("1us", "perfkit.toml"),
        ("same", "memory"): ("4GB", "perfkit.toml"),
        ("shrink", "time"): ("10 s", "decorator"),
    }
    before = check_budgets(run)
    (suite_dir / "perfkit.toml").write_text('[budgets]\nsame = "1h"\nshrink = "1ns"\n')
    after = check_budgets(load_run(result.path))
    assert after.equals(before)  # before: today's perfkit.toml decided
    assert before.set_index(["id", "kind"]).loc[("same", "time"), "status"] == "missed"


def _rng():
    import numpy as np

    return np.random.default_rng(3)
