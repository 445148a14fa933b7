"""perfkit report: notebook parameters, the notebooks themselves, the rendered report, and
the papermill pipeline end to end on a real two-target run with profiles and memory."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest
from conftest import ROOT, SUITES, TARGETS, perfkit_cli
from helpers.machine import alone

from perfkit.errors import ParameterError
from perfkit.report import open_report, views
from perfkit.report.artifacts import ReportFiles
from perfkit.report.document import write_report
from perfkit.report.markdown import markdown_to_html, md_code, md_text
from perfkit.report.params import check_parameters, declared_parameters
from perfkit.report.pipeline import PACKAGE_NOTEBOOKS, NotebookFailed, packaged_notebooks
from perfkit.selfbench.report import code_notebook

_CACHE: dict[str, Path] = {}


def built_run(root: Path) -> Path:
    """One real run (two targets, --profile, --memory) per test session, shared by modules."""
    if "run" not in _CACHE:
        with alone():  # its verdicts come from 3 workers: a busy neighbour blurs them
            done = perfkit_cli(
                "run",
                str(SUITES / "report_suite.py"),
                "--target",
                f"baseline={TARGETS / 'v1'}",
                "--target",
                f"current={TARGETS / 'v2'}",
                "--quick",
                "--workers",
                "3",
                "--profile",
                "--memory",
                "--out",
                str(root / "runs"),
            )
        assert done.returncode == 0, done.stderr
        _CACHE["run"] = Path(done.stdout.strip().splitlines()[-1])
    return _CACHE["run"]


def rendered_report(root: Path) -> Path:
    """The report of `built_run`, written in-process by the notebooks' views (no papermill)."""
    if "rendered" not in _CACHE:
        out = root / "rendered"
        rep = open_report(built_run(root), out_dir=out)
        for view in (
            views.timing_distribution,
            views.ratio,
            views.scaling,
            views.memory_peaks,
            views.memory_growth,
            views.save_artifacts,
        ):
            view(rep)
        focus = views.focus(rep).id
        views.profile_diff(rep, focus)
        views.call_graph(rep, focus)
        views.icicle(rep, focus)
        write_report(rep)
        _CACHE["rendered"] = out
    return _CACHE["rendered"]


@pytest.fixture(scope="session")
def report_root(tmp_path_factory) -> Path:
    return tmp_path_factory.getbasetemp() / "report-room"


@pytest.fixture(scope="session")
def run_dir(report_root) -> Path:
    return built_run(report_root)


@pytest.fixture(scope="session")
def rendered(report_root) -> Path:
    return rendered_report(report_root)


# --- parameters ---------------------------------------------------------------------------


def _declared() -> dict[str, dict]:
    return {nb.name: declared_parameters(nb) for nb in packaged_notebooks()}


def test_the_threshold_reaches_every_notebook(run_dir, tmp_path):
    from perfkit.report.pipeline import plan_report

    plan = plan_report(str(run_dir), out_dir=tmp_path, assignments=["threshold=5%"])
    assert {name: p["threshold"] for name, p in plan.parameters.items()} == {
        nb.name: 0.05 for nb in packaged_notebooks()
    }


def test_every_notebook_declares_the_common_parameters_with_hand_run_defaults():
    for name, params in _declared().items():
        assert params["run"] == "latest", name
        assert params["runs_dir"] == "../data/runs", name
        assert params["out_dir"] == "../reports", name
        assert params["threshold"] is None, name  # None: perfkit.config's default
    assert _declared()["03_callgraphs.ipynb"]["benchmark"] is None


def test_parameters_are_typed_by_their_rule_or_default():
    values = check_parameters(["threshold=5%", "top_n=3", "benchmark=f[n=1]"], _declared())
    assert values == {"threshold": 0.05, "top_n": 3, "benchmark": "f[n=1]"}


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("colour=red", "unknown parameter 'colour' (the notebooks declare: benchmark, threshold"),
        ("threshold=1.5", "bad value for parameter 'threshold': '1.5' (must be between 0 and 1"),
        ("threshold=lots", "bad value for parameter 'threshold': 'lots'"),
        ("top_n=0", "bad value for parameter 'top_n': '0' (must be a whole number"),
        ("out_dir=/tmp", "parameter 'out_dir' is set by --out, not -p"),
        ("threshold", "bad parameter 'threshold': expected NAME=VALUE"),
    ],
)
def test_bad_parameters_name_what_is_wrong(assignment, message):
    with pytest.raises(ParameterError) as info:
        check_parameters([assignment], _declared())
    assert message in str(info.value)
    assert "\n" not in str(info.value)


# --- the notebooks --------------------------------------------------------------------------


def test_top_level_notebooks_are_the_packaged_ones():
    """notebooks/ is what people open; perfkit/notebooks/ is its copy shipped in the wheel."""
    top = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert top == sorted(p.name for p in PACKAGE_NOTEBOOKS.glob("*.ipynb"))
    for name in top:
        assert (ROOT / "notebooks" / name).read_bytes() == (
            PACKAGE_NOTEBOOKS / name
        ).read_bytes(), (
            f"notebooks/{name} differs from perfkit/notebooks/{name}: "
            "cp notebooks/*.ipynb perfkit/notebooks/"
        )


@pytest.mark.parametrize("path", sorted(PACKAGE_NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.name)
def test_notebooks_are_thin_tagged_and_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", [])
    for cell in code:
        assert cell.outputs == [] and cell.execution_count is None
        assert len(cell.source.splitlines()) <= 12, cell.source
    assert nb.metadata.kernelspec.name == "python3"


# --- markdown and rendering -----------------------------------------------------------------


def test_names_stay_text_in_markdown_and_html(tmp_path):
    assert md_code("<lambda>") == "`<lambda>`"
    assert md_code("a|b") == r"`a\|b`"
    assert md_code("x`y") == "``x`y``"
    assert md_text("<module> *x*") == r"\<module\> \*x\*"
    html = markdown_to_html(
        f"| f |\n|---|\n| {md_code('<genexpr>')} |\n\n{md_text('<module>')}", tmp_path
    )
    assert "<code>&lt;genexpr&gt;</code>" in html
    assert "&lt;module&gt;" in html
    assert "<genexpr>" not in html and "<module>" not in html


def test_html_embeds_figures_under_the_report_only(tmp_path):
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "a[n=1].png").write_bytes(b"\x89PNG\r\n\x1a\nfake")
    html = markdown_to_html("![a](figures/a%5Bn%3D1%5D.png) ![b](../outside.png)", tmp_path)
    assert 'src="data:image/png;base64,' in html
    assert 'src="../outside.png"' in html


def test_report_of_two_targets(rendered):
    md = (rendered / "performance_report.md").read_text(encoding="utf-8")
    for heading in (
        "## Summary",
        "## Recommendations",
        "## Benchmarks",
        "## Budgets",
        "## Regressions and their culprits",
        "## Memory",
        "## Scaling",
        "## Environment",
    ):
        assert heading in md
    assert "| `work[n=800]` |" in md and "slower |" in md
    assert "| missed |" in md and "| met |" in md  # build_list misses its 10 µs budget
    assert "### `work[n=" in md and "## Improvements and their causes" in md
    # the culprit of the regression: work's generator (its own code) runs 3x the items
    assert re.search(r"- `work` \(sample_app/__init__.py:\d+\): \+", md)
    assert "leaks ~" in md
    assert re.search(r"Start with `work` \(sample_app/__init__.py:\d+\): \+[^\n]* per call", md)
    assert "`<genexpr>` " in md and "per `work` call (+" in md  # its changed call site
    for link in re.findall(r"\]\((figures/[^)]+)\)", md):
        assert (
            rendered / link.replace("%5B", "[").replace("%5D", "]").replace("%3D", "=")
        ).is_file()
    kinds = {p.stem.split("_")[0] for p in (rendered / "figures").glob("*.png")}
    assert {"timing", "ratio", "scaling", "callgraph", "icicle", "memory", "profile"} <= kinds
    comparison = json.loads((rendered / "comparison.json").read_text())
    assert set(comparison) >= {"baseline", "current", "comparison", "summary"}


def test_notebook_views_and_the_markdown_show_the_same_section_tables(run_dir, rendered, tmp_path):
    from perfkit.report import sections

    rep = open_report(run_dir, out_dir=tmp_path)
    md = (rendered / "performance_report.md").read_text(encoding="utf-8")
    for view, table in (
        (views.overview(rep), sections.comparison_table(rep.table)),
        (views.budgets(rep), sections.budgets_table(rep.budgets)),
        (views.memory_table(rep), sections.memory_table(rep.memory, rep.ids)),
        (views.scaling_table(rep), sections.scaling_table(rep.scaling_change, rep.scaling_fits)),
    ):
        assert view.equals(table.frame)
        assert table.markdown() in md


def test_html_report_is_self_contained_and_escaped(rendered):
    html = (rendered / "performance_report.html").read_text(encoding="utf-8")
    assert "<img" in html and 'src="figures/' not in html
    assert html.count('src="data:image/png;base64,') == len(
        list((rendered / "figures").glob("*.png"))
    )
    for name in ("<lambda>", "<genexpr>", "<listcomp>"):
        assert name not in html
    assert "&lt;genexpr&gt;" in html


def test_single_target_report_has_no_ratio_parts(run_dir, tmp_path):
    rep = open_report(f"{run_dir}:current", out_dir=tmp_path)
    assert not rep.compared
    assert isinstance(views.ratio(rep), views.Note)
    views.timing_distribution(rep)
    written = write_report(rep)
    md = written.markdown.read_text(encoding="utf-8")
    assert "One target" in md and "## Regressions" not in md and "| Median |" in md
    assert "Where `build_list` (the slowest profiled benchmark) spends its time" in md
    assert "notebooks/" not in md  # no pipeline here, so no executed notebooks to link


def test_focus_is_the_worst_regression_or_the_chosen_benchmark(run_dir, tmp_path):
    rep = open_report(run_dir, out_dir=tmp_path)
    table = rep.table.set_index("id")
    regressions = table[table["verdict"] == "regression"]
    assert not regressions.empty  # v2 does three times the work
    # The worst regression, not the largest ratio: with 3 workers a loaded machine may leave
    # one `work[n]` inconclusive at a larger ratio than the regressions.
    assert rep.focus_benchmark() == regressions["ratio"].idxmax()
    assert rep.focus_benchmark("build_list") == "build_list"
    with pytest.raises(ParameterError, match="benchmark='nope' has no profile here"):
        rep.focus_benchmark("nope")


# --- the command ----------------------------------------------------------------------------


def test_bad_parameter_exits_2_with_one_line_before_anything_runs(run_dir, tmp_path):
    out = tmp_path / "out"
    done = perfkit_cli("report", str(run_dir), "--out", str(out), "-p", "colour=red")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "perfkit report: error: unknown parameter 'colour' (the notebooks declare: "
        "benchmark, threshold, top_n)"
    ]
    assert not (out / "notebooks").exists()
    done = perfkit_cli("report", str(run_dir), "--out", str(out), "-p", "benchmark=nope")
    assert done.returncode == 2 and "benchmark='nope'" in done.stderr
    done = perfkit_cli("report", "no-such-run", "--out", str(out))
    assert done.returncode == 2 and "run not found: no-such-run" in done.stderr


def test_failing_cell_names_notebook_and_cell_and_keeps_it(run_dir, tmp_path):
    from perfkit.report.pipeline import plan_report, run_plan

    source = nbformat.read(PACKAGE_NOTEBOOKS / "02_scaling.ipynb", as_version=4)
    source.cells.append(nbformat.v4.new_code_cell("raise RuntimeError('broken on purpose')"))
    (tmp_path / "nbs").mkdir()
    broken = tmp_path / "nbs" / "01_broken.ipynb"
    nbformat.write(source, broken)
    plan = plan_report(str(run_dir), out_dir=tmp_path / "out", notebooks=[broken])
    with pytest.raises(NotebookFailed) as info:
        run_plan(plan)
    failed = info.value
    assert str(failed).startswith(
        f"notebook 01_broken.ipynb failed in cell {len(source.cells)} (In ["
    )
    assert "`raise RuntimeError('broken on purpose')`: RuntimeError: broken on purpose" in str(
        failed
    )
    kept = tmp_path / "out" / "notebooks" / "01_broken.ipynb"
    assert failed.kept == kept
    executed = nbformat.read(kept, as_version=4)
    errors = [
        c
        for c in executed.cells
        if c.cell_type == "code" and c.outputs and c.outputs[0].output_type == "error"
    ]
    assert [c.execution_count for c in errors] == [failed.exec_count]


@pytest.mark.slow
def test_perfkit_report_end_to_end(run_dir, tmp_path):
    out = tmp_path / "reports"
    done = perfkit_cli("report", str(run_dir), "--out", str(out), "-p", "threshold=5%")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [
        str(out / "performance_report.md"),
        str(out / "performance_report.html"),
    ]
    assert "[5/5] 05_report done" in done.stderr
    for noise in ("IPKernelApp", "WARNING", "Traceback", "frozen modules", "without encryption"):
        assert noise not in done.stderr
    md = (out / "performance_report.md").read_text(encoding="utf-8")
    assert "a change counts from 5%" in md
    # The run was indexed when it ended: the report has its Trends section (one run per series).
    assert "## Trends" in md and "| `current` |" in md
    links = re.findall(r"\]\(((?:figures|notebooks)/[^)]+)\)", md)
    assert "notebooks/05_report.ipynb" in links and "notebooks/05_report.html" in links
    for link in links:
        path = out / link.replace("%5B", "[").replace("%5D", "]").replace("%3D", "=")
        assert path.is_file(), link
    stems = {p.stem.split("_")[0] for p in (out / "figures").glob("*.png")}
    assert {"timing", "ratio", "scaling", "callgraph", "icicle", "memory"} <= stems
    for nb in packaged_notebooks():  # 06_trends is a view of its own, not in the pipeline
        executed = out / "notebooks" / nb.name
        assert executed.is_file()
        assert "injected-parameters" in executed.read_text(encoding="utf-8")
        page = (out / "notebooks" / f"{nb.stem}.html").read_text(encoding="utf-8")
        assert "open_report(" not in page  # input cells excluded
    callgraphs = (out / "notebooks" / "03_callgraphs.html").read_text(encoding="utf-8")
    # The focus (worst regression) varies between runs; whichever it is, its profile has
    # names in angle brackets, and they must show as text, never as tags.
    assert re.search(r"&lt;(genexpr|listcomp|lambda|built-in method [^&]+)&gt;", callgraphs)
    for raw in ("<genexpr>", "<listcomp>", "<lambda>", "<built-in"):
        assert raw not in callgraphs


def test_kernel_runs_this_interpreter_even_with_a_foreign_python3_kernelspec():
    """A user-level python3 kernelspec pointing elsewhere must not hijack the report."""
    from perfkit.report.pipeline import _kernel_manager_class

    manager = _kernel_manager_class()(kernel_name="python3")
    assert manager.kernel_spec.argv[0] == sys.executable


@pytest.mark.slow
def test_a_notebook_opened_by_hand_reads_the_latest_run(run_dir, tmp_path):
    """The parameters cell's defaults: notebooks/ beside data/runs, outputs to ../reports."""
    from perfkit.report.pipeline import execute

    project = tmp_path / "project"
    shutil.copytree(run_dir, project / "data" / "runs" / run_dir.name)
    (project / "notebooks").mkdir()
    source = project / "notebooks" / "02_scaling.ipynb"
    shutil.copy(ROOT / "notebooks" / "02_scaling.ipynb", source)
    execute(source, source, {})
    assert (project / "reports" / "figures" / "scaling.png").is_file()


def test_cleaning_an_old_report_touches_only_what_a_report_writes(tmp_path):
    from perfkit.report.pipeline import clean_outputs

    ours = ["figures/ratio.png", "notebooks/01_timings.ipynb", "data/timing.csv",
            "comparison.json", "performance_report.md"]  # fmt: skip
    theirs = ["data/perfkit.sqlite", "data/samples.csv", "data/runs/x/run.json", "notes.md"]
    for name in ours + theirs:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    clean_outputs(tmp_path)
    assert [n for n in ours if (tmp_path / n).exists()] == []
    assert [n for n in theirs if (tmp_path / n).exists()] == theirs


def _stand_in(rows: list[dict], workers: int = 6):
    """The attributes of ReportData that the inconclusive/memory advice reads."""
    import pandas as pd

    run = SimpleNamespace(meta={"options": {"workers": workers}})
    return SimpleNamespace(
        table=pd.DataFrame(rows), sides=[SimpleNamespace(run=run)], threshold=0.1
    )


def test_advice_on_inconclusive_names_the_cause_and_the_biggest_slow_down():
    from perfkit.report.recommend import _inconclusive, _memory_growth

    row = dict(verdict="inconclusive", ci_low=0.5, ci_high=2.0, n_baseline=2, n_current=2)
    rep = _stand_in(
        [
            {**row, "id": "a", "ratio": 0.05, "change_text": "20.0× faster"},
            {**row, "id": "f<x>", "ratio": 3.0, "change_text": "3.0× slower"},
        ],
        workers=2,
    )
    (advice,) = _inconclusive(rep)
    assert "only 2 worker(s) on a side, fewer than the 3 a verdict needs" in advice.text
    assert "`--workers 24`" in advice.text  # never fewer than `perfkit run`'s default
    assert "largest apparent slow-down is `f<x>`, 3.0× slower" in advice.text
    rep = _stand_in([{**row, "id": "b", "ratio": 1.02, "change_text": "+2.0 % slower",
                      "n_baseline": 8, "n_current": 8, "ci_low": 0.8, "ci_high": 1.3}])  # fmt: skip
    (advice,) = _inconclusive(rep)
    assert "ratio CI 0.80–1.30" in advice.text and "straddles the ±10% band" in advice.text
    memory = _stand_in([{"id": "m", "memory_verdict": "regression", "memory_ratio": 1.5,
                         "baseline_peak_rss_bytes": 40e6, "current_peak_rss_bytes": 60e6}])  # fmt: skip
    (advice,) = _memory_growth(memory)
    assert "Peak memory of `m` grew 40 MB → 60 MB (+50%)" in advice.text


def _tiny_notebook(path: Path, *code: str) -> Path:
    """A notebook with a tagged parameters cell (out_dir) and `code` cells."""
    return code_notebook(path, "out_dir = None", *code)


_NOTE_PID = "import os; open(os.path.join(out_dir, 'pids'), 'a').write(f'{os.getpid()}\\n')"
_WRITE_REPORT = (
    "from pathlib import Path\n"
    "for name in ('performance_report.md', 'performance_report.html'):\n"
    "    (Path(out_dir) / name).write_text('ok')"
)


def test_a_lane_runs_its_notebooks_on_one_kernel_with_a_fresh_namespace_each(
    run_dir, tmp_path, monkeypatch
):
    from perfkit.report import pipeline

    nbs = tmp_path / "nbs"
    nbs.mkdir()
    notebooks = [
        _tiny_notebook(nbs / "01_set.ipynb", "leaked = 1", _NOTE_PID),
        _tiny_notebook(nbs / "02_check.ipynb", "assert 'leaked' not in globals()", _NOTE_PID),
        _tiny_notebook(nbs / "03_report.ipynb", _NOTE_PID, _WRITE_REPORT),
    ]
    monkeypatch.setattr(pipeline, "LANES", 1)
    plan = pipeline.plan_report(str(run_dir), out_dir=tmp_path / "out", notebooks=notebooks)
    before = os.getcwd()
    result = pipeline.run_plan(plan)
    assert os.getcwd() == before  # papermill's cwd= would os.chdir the whole process
    assert [p.name for p in result.executed] == [p.name for p in notebooks]
    assert all(p.is_file() for p in result.exports)
    pids = (tmp_path / "out" / "pids").read_text().split()
    assert len(pids) == 3 and len(set(pids)) == 1  # one kernel booted for the lane
    checked = nbformat.read(tmp_path / "out" / "notebooks" / "02_check.ipynb", as_version=4)
    assert checked.cells[0].execution_count == 1  # In [1] again after the reset


def test_the_report_notebook_starts_only_once_before_last_has_returned(run_dir, tmp_path):
    """`perfkit demo` renders while it prints the comparison: the last notebook (the one
    that reads the history) waits for `before_last`, the others run before it."""
    from perfkit.report import pipeline

    nbs = tmp_path / "nbs"
    nbs.mkdir()
    gate = tmp_path / "indexed"
    views = tmp_path / "out" / "notebooks"
    notebooks = [
        _tiny_notebook(nbs / "01_a.ipynb", "a = 1"),
        _tiny_notebook(nbs / "02_b.ipynb", "b = 2"),
        _tiny_notebook(nbs / "03_report.ipynb", f"assert open({str(gate)!r}).read() == 'ok'",
                       _WRITE_REPORT),
    ]  # fmt: skip
    plan = pipeline.plan_report(str(run_dir), out_dir=tmp_path / "out", notebooks=notebooks)
    calls = []

    def before_last() -> None:
        calls.append(sorted(p.name for p in views.glob("0[12]_*.ipynb")))
        gate.write_text("ok")

    result = pipeline.run_plan(plan, before_last=before_last)
    assert calls == [["01_a.ipynb", "02_b.ipynb"]]  # once, after both views
    assert result.markdown.read_text() == "ok"


def test_notebooks_side_by_side_leave_the_working_directory_alone(run_dir, tmp_path):
    from perfkit.report.pipeline import LANES, plan_report, run_plan

    assert LANES == 2
    chosen = [PACKAGE_NOTEBOOKS / n for n in ("02_scaling.ipynb", "04_memory.ipynb")]
    plan = plan_report(
        str(run_dir),
        out_dir=tmp_path / "out",
        notebooks=[*chosen, PACKAGE_NOTEBOOKS / "05_report.ipynb"],
    )
    before = os.getcwd()
    result = run_plan(plan)
    assert os.getcwd() == before
    assert [p.name for p in result.executed] == [p.name for p in plan.notebooks]
    assert result.markdown.is_file() and all(p.is_file() for p in result.exports)
    manifest = json.loads((tmp_path / "out" / "data" / "figures.json").read_text())
    sections = [v["section"] for v in ReportFiles(tmp_path / "out").figures().values()]
    assert {"scaling", "memory"} <= set(sections)
    assert sections == sorted(sections, key=["scaling", "memory"].index)  # notebooks' order
    assert len(manifest) == len(sections)
