"""Commits as targets: facts of one commit and the commits of a range, each its own target.

A commit's ``order`` is its depth in first-parent history (``git rev-list --first-parent
--count``): history series sort by it, not by wall-clock. Backfill and bisect list a range
here and export each commit once through `targets.checkout` (cached by sha). This module
runs git and nothing else; it measures nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from perfkit.collect.targets import Target, _git, checkout
from perfkit.errors import TargetError


@dataclass(frozen=True)
class Commit:
    sha: str
    time: str  # committer date, ISO 8601 with offset
    order: int  # depth in first-parent history
    subject: str

    @property
    def short(self) -> str:
        return self.sha[:10]


def _top(repo: Path) -> Path:
    return Path(_git(["rev-parse", "--show-toplevel"], repo))


def commit_facts(repo: Path, ref: str) -> Commit:
    """Sha, committer time, first-parent order and subject of one commit."""
    try:
        line = _git(["log", "-1", "--format=%H%x09%cI%x09%s", f"{ref}^{{commit}}", "--"], repo)
    except TargetError:
        raise TargetError(f"unknown git ref {ref!r} in {repo}") from None
    sha, time, subject = [*line.split("\t", 2), "", ""][:3]
    order = int(_git(["rev-list", "--first-parent", "--count", sha], repo))
    return Commit(sha=sha, time=time, order=order, subject=subject)


def current_ref(repo: Path) -> str | None:
    """The branch checked out at `repo` (None when detached or outside git)."""
    try:
        name = _git(["rev-parse", "--abbrev-ref", "HEAD"], repo)
    except TargetError:
        return None
    return None if name == "HEAD" else name


def list_commits(
    repo: Path, range_text: str, every: int = 1, last: int | None = None
) -> list[Commit]:
    """Commits of ``A..B`` along B's first-parent line, oldest first.

    ``every`` keeps every K-th commit counted back from B (B is always kept); ``last``
    keeps the newest N of those. A bare ``REF`` means that single commit.
    """
    if every < 1 or (last is not None and last < 1):
        raise TargetError("--every and --last must be at least 1")
    if ".." not in range_text:
        return [commit_facts(repo, range_text)]
    start, _, end = range_text.partition("..")
    if not start or not end or end.startswith("."):
        raise TargetError(f"bad commit range {range_text!r}: expected A..B")
    tip = commit_facts(repo, end)
    commit_facts(repo, start)  # a clear error for an unknown start
    lines = _git(
        ["log", "--first-parent", "--format=%H%x09%cI%x09%s", f"{start}..{tip.sha}", "--"], repo
    ).splitlines()
    commits = []
    for depth, line in enumerate(lines):  # newest first
        sha, time, subject = [*line.split("\t", 2), "", ""][:3]
        commits.append(Commit(sha=sha, time=time, order=tip.order - depth, subject=subject))
    if not commits:
        raise TargetError(f"commit range {range_text!r} is empty")
    kept = commits[::every]
    if last is not None:
        kept = kept[:last]
    return kept[::-1]


def commit_target(repo: Path, commit: Commit, series: str, ref: str | None = None) -> Target:
    """One commit as a target labelled by its short sha, exported once into the cache."""
    tree, sha = checkout(commit.sha, repo)
    return Target(
        label=commit.short,
        spec=f"git:{commit.sha}",
        path=str(tree),
        git_sha=sha,
        series=series,
        ref=ref,
        commit_time=commit.time,
        commit_order=commit.order,
    )


def range_targets(
    repo: Path,
    range_text: str,
    series: str = "current",
    every: int = 1,
    last: int | None = None,
) -> list[Target]:
    """Every kept commit of a range as a target of one series (backfill, bisect)."""
    end = range_text.partition("..")[2] or range_text
    return [
        commit_target(repo, commit, series, ref=end)
        for commit in list_commits(repo, range_text, every, last)
    ]
