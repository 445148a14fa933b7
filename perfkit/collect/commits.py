"""Commits as targets: facts of one commit and the commits of a range, each its own target.

A commit's ``order`` is its depth in first-parent history (``git rev-list --first-parent
--count``): history series sort by it, not by wall-clock. Backfill and bisect list a range
here and export each commit once through `targets.checkout` (cached by sha). This module
runs git and nothing else; it measures nothing.
"""

from __future__ import annotations

from pathlib import Path

from perfkit.collect.git import LOG_FORMAT, Commit, commit_facts, git, parse_log_line
from perfkit.collect.targets import Target, checkout
from perfkit.errors import TargetError


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
    lines = git(
        ["log", "--first-parent", f"--format={LOG_FORMAT}", f"{start}..{tip.sha}", "--"], repo
    ).splitlines()
    commits = []
    for depth, line in enumerate(lines):  # newest first
        sha, time, author_time, subject = parse_log_line(line)
        commits.append(
            Commit(
                sha=sha,
                time=time,
                order=tip.order - depth,
                subject=subject,
                author_time=author_time,
            )
        )
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
