"""Targets: which version of the code a worker imports, and which interpreter runs it.

``LABEL=PATH`` puts PATH first on the worker's sys.path; ``LABEL=git:REF[:SUBDIR]``
exports the commit once into a cached tree (reused while the commit is the same).
By default a target's workers run perfkit's own interpreter; `with_interpreters` gives a
target another one (``--python LABEL=PATH``) or an environment perfkit builds from a file
(``--env LABEL=FILE``, `perfkit.collect.envs`), probed once here so that a bad one stops
the run before anything is measured.
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

from perfkit.collect import interpreters
from perfkit.collect.envs import build_env
from perfkit.collect.git import commit_facts, current_ref, git, git_sha_of
from perfkit.errors import TargetError
from perfkit.rundir import InterpreterInfo, valid_label
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
    interpreter: InterpreterInfo | None = None  # None: perfkit's own interpreter

    @property
    def python(self) -> str | None:
        """The executable of a foreign interpreter; None for perfkit's own."""
        return self.interpreter.executable if self.interpreter is not None else None

    def info(self, interpreter: InterpreterInfo | None = None) -> TargetInfo:
        """What run.json records of this target (series defaults to its label); pass the
        interpreter its workers run when it is perfkit's own (`interpreters.own()`)."""
        return TargetInfo(
            spec=self.spec,
            path=self.path,
            git_sha=self.git_sha,
            series=self.series or self.label,
            ref=self.ref,
            commit_time=self.commit_time,
            commit_order=self.commit_order,
            interpreter=self.interpreter or interpreter,
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


def _by_label(option: str, texts: list[str] | None, labels: list[str]) -> dict[str, str]:
    """``LABEL=VALUE`` options, each naming a known target once."""
    chosen: dict[str, str] = {}
    for text in texts or []:
        label, sep, value = text.partition("=")
        if not sep or not label or not value:
            raise TargetError(f"bad {option} {text!r}: expected LABEL=PATH")
        if label not in labels:
            raise TargetError(
                f"{option} {label}: no target has that label (targets: {', '.join(labels)})"
            )
        if label in chosen:
            raise TargetError(f"{option} {label} given twice")
        chosen[label] = value
    return chosen


def with_interpreters(
    targets: list[Target], pythons: list[str] | None = None, envs: list[str] | None = None
) -> list[Target]:
    """Targets with the interpreters ``--python LABEL=PATH`` and ``--env LABEL=FILE`` name.

    PATH is an interpreter or a virtualenv directory. With both options for one label the
    environment is built on that interpreter. Every named interpreter is probed now.
    """
    labels = [t.label for t in targets]
    python_of = _by_label("--python", pythons, labels)
    env_of = _by_label("--env", envs, labels)
    out = []
    for target in targets:
        python, env_file = python_of.get(target.label), env_of.get(target.label)
        if python is None and env_file is None:
            out.append(target)
            continue
        try:
            if env_file is not None:
                base = str(interpreters.executable_of(python)) if python else None
                python = str(build_env(env_file, base))
            assert python is not None
            info = interpreters.probe(python)
        except TargetError as exc:
            raise TargetError(f"target {target.label}: {exc}") from None
        if env_file is not None:
            info = replace(info, env_file=str(Path(env_file).expanduser().absolute()))
        out.append(replace(target, interpreter=info))
    return out
