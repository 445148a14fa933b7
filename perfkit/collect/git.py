"""git facts: one place that runs git for perfkit (targets, backfill, bisect).

`_git` runs one git command and turns a failure into a one-line `TargetError`; the rest
read facts of a commit: its sha, committer and author time, first-parent order, subject.
Measures nothing, writes nothing.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from perfkit.errors import TargetError

LOG_FORMAT = "%H%x09%cI%x09%aI%x09%s"


def git(args: list[str], cwd: Path) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise TargetError("git is not installed, cannot resolve a git: target") from None
    if done.returncode != 0:
        raise TargetError(
            done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "git failed"
        )
    return done.stdout.strip()


def git_sha_of(path: Path) -> str | None:
    """The commit checked out at `path`, or None outside a git repository."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=path, capture_output=True, text=True, check=False
        )
    except (FileNotFoundError, NotADirectoryError):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


@dataclass(frozen=True)
class Commit:
    sha: str
    time: str  # committer date, ISO 8601 with offset
    order: int  # depth in first-parent history
    subject: str
    author_time: str = ""  # author date, ISO 8601 with offset

    @property
    def short(self) -> str:
        return self.sha[:10]


def commit_facts(repo: Path, ref: str) -> Commit:
    """Sha, committer time, first-parent order and subject of one commit."""
    try:
        line = git(["log", "-1", f"--format={LOG_FORMAT}", f"{ref}^{{commit}}", "--"], repo)
    except TargetError:
        raise TargetError(f"unknown git ref {ref!r} in {repo}") from None
    sha, time, author_time, subject = parse_log_line(line)
    order = int(git(["rev-list", "--first-parent", "--count", sha], repo))
    return Commit(sha=sha, time=time, order=order, subject=subject, author_time=author_time)


def parse_log_line(line: str) -> tuple[str, str, str, str]:
    sha, time, author_time, subject = [*line.split("\t", 3), "", "", ""][:4]
    return sha, time, author_time, subject


def current_ref(repo: Path) -> str | None:
    """The branch checked out at `repo` (None when detached or outside git)."""
    try:
        name = git(["rev-parse", "--abbrev-ref", "HEAD"], repo)
    except TargetError:
        return None
    return None if name == "HEAD" else name
