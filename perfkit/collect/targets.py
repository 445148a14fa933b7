"""Targets: which version of the code a worker imports.

``LABEL=PATH`` puts PATH first on the worker's sys.path; ``LABEL=git:REF[:SUBDIR]``
exports the commit once into a cached tree (reused while the commit is the same).
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from perfkit.collect.git import commit_facts, current_ref, git, git_sha_of
from perfkit.errors import TargetError
from perfkit.rundir import valid_label
from perfkit.rundir.schema import TargetInfo

DEFAULT_LABEL = "current"
WORKTREE_CACHE = Path("data") / "worktrees"
COMPLETE_MARKER = ".perfkit-complete"


@dataclass(frozen=True)
class Target:
    """One version of the code; the git facts place its runs in a history series."""

    label: str
    spec: str
    path: str
    git_sha: str | None = None
    series: str | None = None  # history series it belongs to (default: its label)
    ref: str | None = None  # branch or ref it was taken from
    commit_time: str | None = None
    commit_order: int | None = None  # depth in first-parent history

    def info(self) -> TargetInfo:
        """What run.json records of this target (series defaults to its label)."""
        return TargetInfo(
            spec=self.spec,
            path=self.path,
            git_sha=self.git_sha,
            series=self.series or self.label,
            ref=self.ref,
            commit_time=self.commit_time,
            commit_order=self.commit_order,
        )

    def with_commit_facts(self, repo: Path, ref: str | None = None) -> Target:
        """The same target with commit time, first-parent order and ref filled from `repo`."""
        if not self.git_sha:
            return self
        try:
            facts = commit_facts(repo, self.git_sha)
        except TargetError:
            return self
        return replace(
            self,
            ref=ref or self.ref or current_ref(repo),
            commit_time=facts.time,
            commit_order=facts.order,
        )


def checkout(ref: str, repo: Path, cache: Path = WORKTREE_CACHE) -> tuple[Path, str]:
    """Export commit `ref` of `repo` into `cache/<sha>` once; return (path, sha).

    The export is unpacked into a private temporary directory and renamed into place
    whole, so a concurrent run exporting the same commit never reads a half-written tree.
    """
    try:
        sha = git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], repo)
    except TargetError:
        raise TargetError(f"unknown git ref {ref!r} in {repo}") from None
    cache = Path(cache).resolve()
    tree = cache / sha
    if (tree / COMPLETE_MARKER).exists():
        return tree, sha
    # From a sub-directory, git archive exports only that sub-directory: use the top level.
    top = git(["rev-parse", "--show-toplevel"], repo)
    archive = subprocess.run(
        ["git", "archive", "--format=tar", sha], cwd=top, capture_output=True, check=False
    )
    if archive.returncode != 0:
        raise TargetError(
            f"git archive {ref} failed: {archive.stderr.decode(errors='replace').strip()}"
        )
    cache.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=cache, prefix=f".{sha}.", suffix=".tmp"))
    try:
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(staging, filter="data")
        (staging / COMPLETE_MARKER).write_text(sha + "\n", encoding="utf-8")
        os.chmod(staging, 0o777 & ~_umask())  # mkdtemp makes 0700; the cache is shared
        _move_into_place(staging, tree)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return tree, sha


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _move_into_place(staging: Path, tree: Path) -> None:
    """Rename `staging` to `tree` unless a complete tree got there first."""
    for _ in range(3):
        try:
            os.rename(staging, tree)
            return
        except OSError:
            if (tree / COMPLETE_MARKER).exists():
                return  # another run exported the same commit first: use theirs
        # An unmarked tree (an older perfkit's in-place export, or one cut short): set it aside.
        stale = tree.with_name(f".{tree.name}.{os.getpid()}.stale")
        with contextlib.suppress(FileNotFoundError):
            os.rename(tree, stale)
        shutil.rmtree(stale, ignore_errors=True)
    raise TargetError(f"could not put the export of {tree.name} into {tree.parent}")


def parse_target(text: str, repo: Path | None = None) -> Target:
    """Parse ``LABEL=PATH`` or ``LABEL=git:REF[:SUBDIR]``."""
    label, sep, spec = text.partition("=")
    if not sep or not label or not spec:
        raise TargetError(f"bad target {text!r}: expected LABEL=PATH or LABEL=git:REF")
    if not valid_label(label):
        raise TargetError(f"bad target label {label!r}: use letters, digits, '_', '-', '.', '+'")
    repo = repo or Path.cwd()
    if spec.startswith("git:"):
        ref, _, subdir = spec[4:].partition(":")
        if not ref:
            raise TargetError(f"bad target {text!r}: git: needs a ref, e.g. git:HEAD~1")
        tree, sha = checkout(ref, repo)
        path = tree / subdir if subdir else tree
        if not path.is_dir():
            raise TargetError(f"target {label}: {subdir!r} is not a directory in {ref}")
        return Target(label=label, spec=spec, path=str(path), git_sha=sha).with_commit_facts(
            repo, ref=ref
        )
    path = Path(spec).expanduser()
    if not path.is_dir():
        raise TargetError(f"target {label}: {spec} is not a directory")
    path = path.resolve()
    return Target(
        label=label, spec=spec, path=str(path), git_sha=git_sha_of(path)
    ).with_commit_facts(path)


def parse_targets(texts: list[str] | None, repo: Path | None = None) -> list[Target]:
    """All targets of a run; none given means the working directory as ``current``."""
    if not texts:
        cwd = Path.cwd()
        target = Target(label=DEFAULT_LABEL, spec=".", path=str(cwd), git_sha=git_sha_of(cwd))
        return [target.with_commit_facts(cwd)]
    targets = [parse_target(text, repo) for text in texts]
    labels = [t.label for t in targets]
    duplicates = sorted({label for label in labels if labels.count(label) > 1})
    if duplicates:
        raise TargetError(f"duplicate target label(s): {', '.join(duplicates)}")
    return targets
