"""The cache of one bisection: which run directories measured which pair of commits.

A bisection is named by its suite, benchmark, the good and bad commits and how a round is
measured (ping-pong or not, samples, sampling time: rounds measured otherwise have another
spread and are not pooled with these; a bisection begun by an older perfkit, whose rounds
ran one worker after another, starts afresh); its state file
(``<state dir>/<key>.json``) lists, per pair ``against..candidate``, the runs measured so
far. It is rewritten atomically after every run, so Ctrl-C loses at most the run in
flight (and that run's finished rounds stay usable, as the run directory keeps them). A
re-run of the same command replays the pairs from their runs and measures only what is
missing. The run directories stay the source of truth; a run that no longer loads is
dropped from the pair and measured again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from perfkit.errors import PerfkitError
from perfkit.rundir import atomic_write_json

STATE_VERSION = 1
DEFAULT_STATE_DIR = Path("data") / "bisect"


def state_key(
    suite: str, benchmark: str, good_sha: str, bad_sha: str, rounds: dict[str, object]
) -> str:
    """The state file's name; `rounds` is how a round is measured (`measure.round_shape`)."""
    text = json.dumps([suite, benchmark, good_sha, bad_sha, rounds], sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def pair_key(against_sha: str, candidate_sha: str) -> str:
    return f"{against_sha}..{candidate_sha}"


@dataclass
class BisectState:
    """Runs per pair of commits; `save` after every change."""

    path: Path
    pairs: dict[str, list[str]] = field(default_factory=dict)
    profiled: dict[str, str] = field(default_factory=dict)  # pair -> run with profiles

    @classmethod
    def load(cls, path: Path) -> BisectState:
        if not path.is_file():
            return cls(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("version") != STATE_VERSION:
                raise ValueError(f"state version {data.get('version')!r}")
            pairs = {str(k): [str(r) for r in v] for k, v in data["pairs"].items()}
            profiled = {str(k): str(v) for k, v in data.get("profiled", {}).items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise PerfkitError(
                f"{path}: unreadable bisect state ({exc}); delete it to start over"
            ) from None
        return cls(path, pairs, profiled)

    def runs(self, pair: str) -> list[str]:
        return list(self.pairs.get(pair, []))

    def add_run(self, pair: str, run: str, profiled: bool = False) -> None:
        self.pairs.setdefault(pair, []).append(run)
        if profiled:
            self.profiled[pair] = run
        self.save()

    def drop_run(self, pair: str, run: str) -> None:
        self.pairs[pair] = [r for r in self.pairs.get(pair, []) if r != run]
        if self.profiled.get(pair) == run:
            del self.profiled[pair]
        self.save()

    def save(self) -> None:
        data = {"version": STATE_VERSION, "pairs": self.pairs, "profiled": self.profiled}
        atomic_write_json(self.path, data)
