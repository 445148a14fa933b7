"""Backfill over a real git repository of 30 commits: one adds a 10 % slowdown, a later
one a 20 % speedup. Detection names both commits; `history --check` exits 1 on the
slowdown while it is the head's level, 0 once it is acknowledged in perfkit.toml."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from conftest import perfkit_cli

# sleep() keeps the workload small and its steps exact on a busy 2-core box; the
# detector's noise handling is measured by `python -m perfkit.selfbench changes`.
WORK = "import time\n\nSECONDS = {seconds}\n\n\ndef run():\n    time.sleep(SECONDS)\n"
SUITE = (
    "import perfkit\n\n\n@perfkit.benchmark()\ndef nap():\n    import work\n\n    return work.run\n"
)
SLOWER_AT, FASTER_AT = 10, 22  # commit numbers (1-based)


def _git(repo: Path, *args: str, date: str | None = None) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org"}
    env |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"}
    if date:
        env |= {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
    done = subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def _make_repo(repo: Path) -> list[str]:
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    seconds, shas = 0.02, []
    for number in range(1, 31):
        if number == SLOWER_AT:
            seconds = 0.022
        if number == FASTER_AT:
            seconds = 0.022 * 0.8
        (repo / "work.py").write_text(WORK.format(seconds=seconds))
        (repo / "counter.txt").write_text(f"{number}\n")
        _git(repo, "add", "-A")
        _git(repo, "commit", "-q", "-m", f"commit {number}", date=f"2026-01-01T00:{number:02d}:00")
        shas.append(_git(repo, "rev-parse", "HEAD"))
    return shas


@pytest.mark.slow
def test_backfill_names_the_slowdown_and_speedup_commits_and_check_alerts(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shas = _make_repo(repo)
    suite = tmp_path / "suite.py"
    suite.write_text(SUITE)
    runs, db = tmp_path / "runs", tmp_path / "history.sqlite"
    # 3 workers a commit: a sleep's steps stand far above its noise (each worker is a
    # process start, most of this test's time).
    common = ["--quick", "--workers", "3", "--out", str(runs), "--db", str(db)]

    # First backfill, commits 6..16: the slowdown (commit 10) is the head's level.
    first = perfkit_cli("run", str(suite), "--commits", f"{shas[4]}..{shas[15]}", *common, cwd=repo)
    assert first.returncode == 0, first.stderr
    assert "backfill: 11 commit(s)" in first.stderr
    meta = json.loads((Path(first.stdout.strip()) / "run.json").read_text())
    assert len(meta["targets"]) == 11 and meta["interleaved"]
    facts = meta["targets"][shas[9][:10]]
    assert (
        facts["git_sha"] == shas[9] and facts["series"] == "current" and facts["commit_order"] == 10
    )

    check = perfkit_cli("history", "--check", "--db", str(db), cwd=repo)
    assert check.returncode == 1, check.stdout + check.stderr
    assert f"{shas[8][:10]}..{shas[9][:10]}" in check.stdout and "slower" in check.stdout

    (repo / "perfkit.toml").write_text(
        f'[acknowledged]\n"{shas[9][:8]}" = "sleeps 10 % longer on purpose"\n'
    )
    quiet = perfkit_cli("history", "--check", "--format", "json", "--db", str(db), cwd=repo)
    assert quiet.returncode == 0, quiet.stdout + quiet.stderr
    report = json.loads(quiet.stdout)
    assert report["alerts"] == []
    assert [c["acknowledged"] for c in report["changes"]] == ["sleeps 10 % longer on purpose"]

    # The rest of the range, thinned to the newest 12 (commits 19..30, 18 is skipped).
    rest = perfkit_cli(
        "run", str(suite), "--commits", f"{shas[15]}..main", "--last", "12", *common, cwd=repo
    )
    assert rest.returncode == 0, rest.stderr
    assert "backfill: 12 commit(s)" in rest.stderr
    shown = perfkit_cli("history", "nap", "--format", "json", "--db", str(db), cwd=repo)
    assert shown.returncode == 0, shown.stderr
    changes = json.loads(shown.stdout)["changes"]
    assert [(c["before_sha"], c["after_sha"]) for c in changes] == [
        (shas[SLOWER_AT - 2], shas[SLOWER_AT - 1]),
        (shas[FASTER_AT - 2], shas[FASTER_AT - 1]),
    ]
    slower, faster = changes
    # sleep() has a fixed overhead, so the measured steps are a little under 10 % and 20 %.
    assert 1.05 < slower["ratio"] < 1.15 and slower["ci_low"] > 1 and slower["kind"] == "regression"
    assert 0.75 < faster["ratio"] < 0.85 and faster["ci_high"] < 1 and faster["at_head"]
    assert faster["kind"] == "improvement"
    again = perfkit_cli("history", "--check", "--db", str(db), cwd=repo)
    assert again.returncode == 0, again.stdout
    text = perfkit_cli("history", "nap", "--db", str(db), cwd=repo)
    assert text.returncode == 0 and text.stdout.count("◆") == 2
