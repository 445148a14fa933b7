"""`perfkit compare` and `perfkit show` as a user meets them: output, JSON, exit codes.

Synthetic run directories (written through RunWriter) for the fast cases; one real
interleaved run of tests/suites/shift_suite.py for the end-to-end verdicts.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import SUITES, perfkit_cli
from helpers.runs import sample_rows, shifted_run, write_run

from perfkit.cli import main
from perfkit.rundir import SAMPLES_CSV, RunWriter


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_compare_one_interleaved_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = shifted_run(tmp_path, 0)
    out_json = tmp_path / "comparison.json"
    code, out, _ = run_cli(capsys, "compare", str(run_dir), "--json", str(out_json))
    assert code == 0
    assert "regression" in out and "improvement" in out
    flat = " ".join(out.split())
    assert "% slower" in out and "baseline → current, paired by round" in flat
    assert f"{run_dir.name}: baseline → current " in flat
    assert "1 regression, 1 improvement" in out
    data = json.loads(out_json.read_text())
    assert data["comparison"]["grow"]["verdict"] == "regression"
    assert data["comparison"]["shrink"]["verdict"] == "improvement"
    assert data["summary"]["regression"] == 1
    assert data["current"]["label"] == "current"


def test_fail_on_regression_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = str(shifted_run(tmp_path, 1))
    assert run_cli(capsys, "compare", run_dir, "--fail-on-regression")[0] == 1
    # With a threshold above the +15 % shift it is only "slower": no failure.
    code, out, _ = run_cli(capsys, "compare", run_dir, "--threshold", "20%", "--fail-on-regression")
    assert code == 0 and "slower" in out


def test_labels_by_flag_and_by_ref(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = str(shifted_run(tmp_path, 2))
    swapped = ["compare", run_dir, "--baseline", "current", "--current", "baseline"]
    code, out, _ = run_cli(capsys, *swapped)
    assert code == 0 and ": current → baseline " in " ".join(out.split())
    code, out, _ = run_cli(capsys, "compare", f"{run_dir}:current", f"{run_dir}:baseline")
    assert code == 0 and "improvement" in out  # +15 % seen backwards


def test_fail_on_budget(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(3)
    rows = sample_rows(rng, "export", "n=100", "baseline", 1.0, 6)
    rows += sample_rows(rng, "export", "n=100", "current", 3.0, 6)
    cases = {"export[n=100]": {"name": "export", "budget_seconds": 2.0}}
    run_dir = str(write_run(tmp_path, rows, ("baseline", "current"), cases=cases))
    code, out, _ = run_cli(capsys, "compare", run_dir, "--fail-on-budget")
    assert code == 1
    assert "missed export[n=100] @current: time budget" in out and "budget missed" in out
    assert "export[n=100]" in out  # ids are not taken for rich markup
    assert run_cli(capsys, "compare", run_dir)[0] == 0


def _truncate(run_dir: Path) -> None:
    samples = run_dir / "samples.csv"
    text = samples.read_text()
    samples.write_text(text[: text.rindex("\n", 0, len(text) - 1) + 12])


def _drop_column(run_dir: Path) -> None:
    samples = run_dir / "samples.csv"
    lines = samples.read_text().splitlines()
    samples.write_text("\n".join(line.rsplit(",", 1)[0] for line in lines) + "\n")


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("missing_run", "run not found: nope"),
        ("absent_label", "has no target 'staging'"),
        ("no_common", "no common benchmark"),
        ("truncated", "samples.csv: line"),
        ("missing_column", "samples.csv: missing column(s) seconds"),
        ("bad_threshold", "bad threshold"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str, expected: str
) -> None:
    run_dir = shifted_run(tmp_path, 5)
    args = ["compare", str(run_dir)]
    if case == "missing_run":
        args = ["compare", "nope", "--runs-dir", str(tmp_path)]
    elif case == "absent_label":
        args = ["compare", f"{run_dir}:staging", str(run_dir)]
    elif case == "no_common":
        other = write_run(
            tmp_path, sample_rows(np.random.default_rng(0), "x", "", "m", 1.0, 3), ("m",)
        )
        args = ["compare", f"{run_dir}:baseline", str(other)]
    elif case == "truncated":
        _truncate(run_dir)
    elif case == "missing_column":
        _drop_column(run_dir)
    elif case == "bad_threshold":
        args += ["--threshold", "ten"]
    code, _, err = run_cli(capsys, *args)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("perfkit compare: error: ")
    assert expected in err
    if case in ("truncated", "missing_column"):
        assert str(run_dir / "samples.csv") in err


def test_show_json_shape(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(4)
    rows = sample_rows(rng, "track", "", "main", 0.5, 5)
    cases = {"track": {"name": "track", "budget_seconds": 5.0}}
    run_dir = write_run(tmp_path, rows, ("main",), cases=cases)
    with (run_dir / "failures.csv").open("a") as handle:
        handle.write("broken,,main,0,error,ValueError: boom in body\n")
    out_json = tmp_path / "show.json"
    code, out, _ = run_cli(capsys, "show", str(run_dir), "--json", str(out_json))
    assert code == 0 and "track" in out and "met time" in out
    data = json.loads(out_json.read_text())
    assert data["run"]["id"] == run_dir.name
    slot = data["benchmarks"]["track"]["main"]
    assert set(slot) >= {"timing", "memory", "budget"}
    assert slot["timing"]["n_workers"] == 5 and slot["timing"]["n_samples"] == 25
    assert slot["memory"] is None
    assert slot["budget"]["time"]["met"] is True
    broken = data["benchmarks"]["broken"]["main"]
    assert broken["timing"] is None and broken["failures"][0]["kind"] == "error"


def _real_shift_run(tmp_path: Path, attempt: int) -> dict[str, dict]:
    targets = SUITES / "shift_targets"
    out = tmp_path / f"attempt{attempt}"
    done = perfkit_cli(
        "run",
        str(SUITES / "shift_suite.py"),
        "--quick",
        "--workers",
        "12",
        "--target",
        f"baseline={targets / 'baseline'}",
        "--target",
        f"current={targets / 'current'}",
        "--out",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    run_dir = done.stdout.strip().splitlines()[-1]
    out_json = out / "comparison.json"
    done = perfkit_cli("compare", run_dir, "--json", str(out_json), "--fail-on-regression")
    comparison = json.loads(out_json.read_text())["comparison"]
    regressions = [i for i, row in comparison.items() if row["verdict"] == "regression"]
    assert done.returncode == (1 if regressions else 0), done.stderr
    return comparison


@pytest.mark.slow
def test_real_interleaved_run_finds_the_known_shifts(tmp_path: Path) -> None:
    """+40 %, 0 %, -40 % of real work in one interleaved run.

    On a loaded 2-core box whole workers run 2x slower at random; perfkit then
    answers "inconclusive", which is honest, and a 95 % CI calls identical code
    slower or faster now and then. So: never a wrong direction nor a change past
    the threshold where there is none, and all three right in one of three runs.
    """
    for attempt in range(3):
        comparison = _real_shift_run(tmp_path, attempt)
        verdicts = {k: v["verdict"] for k, v in comparison.items()}
        assert verdicts["grow"] in ("regression", "slower", "inconclusive"), comparison["grow"]
        assert verdicts["same"] not in ("regression", "improvement"), comparison["same"]
        assert verdicts["shrink"] in ("improvement", "faster", "inconclusive"), comparison["shrink"]
        if verdicts == {
            "grow": "regression",
            "same": verdicts["same"],
            "shrink": "improvement",
        } and (verdicts["same"] in ("unchanged", "inconclusive")):
            return
    pytest.fail(f"no decisive run in 3 attempts (a very noisy machine?): {verdicts}")


def test_orientation_is_baseline_then_current(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two runs with one label each (as `pytest --perf-save` writes them): the title reads
    baseline → current and the two columns are headed by their run ids, baseline first."""
    rng = np.random.default_rng(7)
    old = write_run(
        tmp_path / "a",
        sample_rows(rng, "f", "", "current", 1e-3, 6),
        ("current",),
        run_id="old-run",
    )
    new = write_run(
        tmp_path / "b",
        sample_rows(rng, "f", "", "current", 2e-3, 6),
        ("current",),
        run_id="new-run",
    )
    code, out, _ = run_cli(capsys, "compare", str(old), str(new))
    assert code == 0
    flat = " ".join(out.split())
    assert "old-run:current → new-run:current (baseline → current," in flat
    header = next(line for line in out.splitlines() if "old-run" in line and "new-run" in line)
    assert header.index("old-run") < header.index("new-run")
    assert "2.0× slower" in out or "% slower" in out


def _run_with_failures(out: Path, failing: str) -> Path:
    """Both sides measured `f` and `g`, except `failing`, where every benchmark failed."""
    rng = np.random.default_rng(5)
    writer = RunWriter.create(
        out,
        {
            "targets": {t: {"spec": t, "path": f"/x/{t}", "git_sha": None} for t in SIDES},
            "interleaved": True,
            "cases": {},
        },
    )
    for side in SIDES:
        for name in ("f", "g"):
            if side == failing:
                writer.add_failure(name, "", side, 0, "error", f"ValueError: {name} broke")
            else:
                writer.add_rows(SAMPLES_CSV, sample_rows(rng, name, "", side, 1e-3, 6))
    writer.finish("complete")
    return writer.path


SIDES = ("baseline", "current")


@pytest.mark.parametrize("failing", SIDES)
def test_a_side_that_failed_everything_is_a_table_not_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], failing: str
) -> None:
    run_dir = str(_run_with_failures(tmp_path, failing))
    code, out, err = run_cli(capsys, "compare", run_dir)
    assert code == 0, err
    rows = [line for line in out.splitlines() if line.lstrip("│ ").startswith(("f ", "g "))]
    assert len(rows) == 2 and all("failed" in r for r in rows), out
    assert f"failed in {Path(run_dir).name}:{failing}: f, g" in " ".join(out.split())
    # A gate never passes on nothing: every benchmark failed on one side -> exit 1.
    for flag in ("--fail-on-regression", "--fail-on-budget"):
        code, out, err = run_cli(capsys, "compare", run_dir, flag)
        assert code == 1 and "failed:" in out, out + err


def test_compare_says_a_change_of_complexity_in_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(8)
    rows = []
    for n in (10, 100, 1000):
        rows += sample_rows(rng, "match", f"n={n}", "baseline", 1e-6 * n**1.28, 6)
        rows += sample_rows(rng, "match", f"n={n}", "current", 1e-6 * n**0.97, 6)
    code, out, _ = run_cli(capsys, "compare", str(write_run(tmp_path, rows, SIDES)))
    assert code == 0
    line = next(x for x in out.splitlines() if x.startswith("scaling match (n)"))
    assert "scales better: super-linear → linear (k 1.2" in line, out


def test_memory_column_leads_with_what_the_benchmark_added(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """30 MB of interpreter in both workers: the table leads with +2 MB → +6 MB added,
    the absolute peaks (32 MB → 36 MB) follow as context."""
    rng = np.random.default_rng(9)
    rows, memory = [], []
    for side, added in (("baseline", 2_000_000), ("current", 6_000_000)):
        rows += sample_rows(rng, "f", "", side, 1e-3, 6)
        key = {"benchmark": "f", "params": "", "target": side, "worker": 0, "calls": 10}
        peak = {"peak_rss_bytes": 30_000_000 + added, "py_peak_bytes": added // 2}
        memory.append({**key, "baseline_rss_bytes": 30_000_000, **peak})
    run_dir = write_run(tmp_path, rows, SIDES, memory_rows=memory)
    code, out, _ = run_cli(capsys, "compare", str(run_dir))
    assert code == 0
    header = next(line for line in out.splitlines() if "memory added" in line)
    assert header.index("memory added") < header.index("peak RSS")
    row = next(line for line in out.splitlines() if line.startswith("│ f "))
    assert row.index("+2 MB → +6 MB") < row.index("32 MB → 36 MB"), row
    code, out, _ = run_cli(capsys, "show", str(run_dir))
    assert code == 0
    header = next(line for line in out.splitlines() if "memory added" in line)
    assert header.index("memory added") < header.index("Python peak") < header.index("peak RSS")
    row = next(line for line in out.splitlines() if "current" in line and "+6 MB" in line)
    assert row.index("+6 MB") < row.index("3 MB") < row.index("36 MB"), row
