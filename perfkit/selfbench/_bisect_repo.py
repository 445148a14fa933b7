"""A real git repository for bisect trials: a small text library over 1 + N commits.

Commit 0 is good. One commit (`slow_at`) makes ``score`` do more passes, a slowdown of the
whole benchmark by `slowdown` (the three functions do the same work per pass, so score is a
third of the time); the other commits edit docs, add unused code, or move ``tokenize`` by
one pass (about ±0.5 % of the benchmark: noise-level). Used by the bisect test and by
``python -m perfkit.selfbench bisect``.
"""

from __future__ import annotations

import os
import random
import subprocess
from dataclasses import dataclass
from pathlib import Path

PASSES = 60
FUNCTION = """

def {name}(words):
    total = 0
    for _ in range(PASSES):
        for w in words:
            total += (len(w) * {k}) % 7
    return total
"""
MODULE = '"""{doc}"""\n\nPASSES = {passes}\n' + "{body}"
SUITE = """import perfkit


@perfkit.benchmark()
def pipeline():
    import textkit

    return textkit.run
"""
INIT = '''"""textkit: tokens, normalisation and scores of a short text."""

from textkit.normalize import normalize
from textkit.score import score
from textkit.tokens import tokenize

WORDS = ("the quick brown fox jumps over the lazy dog " * 8).split()


def run():
    return tokenize(WORDS) + normalize(WORDS) + score(WORDS)
'''


@dataclass(frozen=True)
class BisectRepo:
    path: Path
    shas: list[str]  # shas[0] is good, shas[-1] bad
    slow_at: int  # index in shas of the commit that slows score down
    suite: Path

    @property
    def culprit_sha(self) -> str:
        return self.shas[self.slow_at]


def _git(repo: Path, *args: str, when: int = 0) -> str:
    date = f"2026-01-01T{when // 60:02d}:{when % 60:02d}:00"
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org"}
    env |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"}
    env |= {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
    done = subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def _module(name: str, doc: str, passes: int, k: int) -> str:
    return MODULE.format(doc=doc, passes=passes, body=FUNCTION.format(name=name, k=k))


def make_bisect_repo(
    where: Path, commits: int = 64, slow_at: int = 37, slowdown: float = 0.05, seed: int = 0
) -> BisectRepo:
    """Write the repository under `where` (``repo/``, and ``suite.py`` beside it)."""
    if not 1 <= slow_at <= commits:
        raise ValueError("slow_at must name one of the commits after the first")
    rng = random.Random(seed)
    repo = where / "repo"
    (repo / "textkit").mkdir(parents=True)
    _git(repo, "init", "-q", "-b", "main")
    pkg = repo / "textkit"
    (pkg / "__init__.py").write_text(INIT)
    (pkg / "normalize.py").write_text(_module("normalize", "Lower-case forms.", PASSES, 3))
    (pkg / "tokens.py").write_text(_module("tokenize", "Token statistics.", PASSES, 5))
    (pkg / "score.py").write_text(_module("score", "Word scores.", PASSES, 11))
    (repo / "README.md").write_text("# textkit\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "textkit: first version", when=0)
    shas = [_git(repo, "rev-parse", "HEAD")]
    # score is a third of the time: this many more passes slow the benchmark by `slowdown`
    slow_passes = round(PASSES * (1 + 3 * slowdown))
    tokenize_passes = PASSES
    for number in range(1, commits + 1):
        if number == slow_at:
            (pkg / "score.py").write_text(
                _module("score", "Word scores, weighted.", slow_passes, 11)
            )
            subject = "score: weight every word by its length class"
        else:
            kind = rng.choice(["docs", "helper", "tokenize"])
            if kind == "docs":
                with (repo / "README.md").open("a") as readme:
                    readme.write(f"\nNote {number}: {rng.random():.6f}\n")
                subject = f"docs: note {number}"
            elif kind == "helper":
                (pkg / f"extra_{number}.py").write_text(
                    f'"""Unused helper {number}."""\n\n\ndef helper_{number}(x):\n    return x * {number}\n'
                )
                subject = f"helper {number} (not used yet)"
            else:
                tokenize_passes = PASSES + (0 if tokenize_passes != PASSES else rng.choice([-1, 1]))
                (pkg / "tokens.py").write_text(
                    _module("tokenize", "Token statistics.", tokenize_passes, 5)
                )
                subject = f"tokenize: {tokenize_passes} passes"
        _git(repo, "add", "-A")
        _git(repo, "commit", "-q", "-m", subject, when=number)
        shas.append(_git(repo, "rev-parse", "HEAD"))
    suite = where / "suite.py"
    suite.write_text(SUITE)
    return BisectRepo(repo, shas, slow_at, suite)
