"""Changes over time: the change points of every series, named by their commits, and alerts.

Input is a points table in series order (`perfkit.history.query.load_series`); output
is plain records. An alert is a regression step beyond the threshold at the head of a
series (its last change, so the current level), unless the team acknowledged the
commit in ``perfkit.toml [acknowledged]``. Pure functions; nothing here reads files.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

import pandas as pd

from perfkit.analysis.changes import DEFAULT_DETECTOR, ChangePoint, DetectorConfig, kind
from perfkit.analysis.run_factor import detect_together
from perfkit.config.project import Acknowledgement, ProjectConfig

DEFAULT_ALERT_THRESHOLD = 0.05
SERIES_KEY = ["benchmark_id", "series", "machine_id"]


@dataclass(frozen=True)
class Change:
    """A detected step of one series, between the last run before and the first after."""

    benchmark_id: str
    series: str
    machine_id: str
    index: int  # position of the first point after the step
    before_sha: str | None
    after_sha: str | None
    before_run: str
    after_run: str
    after_time: str | None
    ratio: float
    ci_low: float
    ci_high: float
    p_value: float
    n_before: int
    n_after: int
    at_head: bool  # the last change of its series: the level it ends at
    acknowledged: str | None = None  # the reason, when the team accepted it
    shared: bool = False  # most benchmarks of the suite stepped in the same run

    @property
    def pct_change(self) -> float:
        return (self.ratio - 1.0) * 100.0

    def kind(self, threshold: float = DEFAULT_ALERT_THRESHOLD) -> str:
        """``regression``/``improvement`` beyond the threshold, else ``slower``/``faster``."""
        return kind(self.ratio, self.ci_low, self.ci_high, threshold)

    def is_alert(self, threshold: float = DEFAULT_ALERT_THRESHOLD) -> bool:
        return self.at_head and self.acknowledged is None and self.kind(threshold) == "regression"

    def to_json(self, threshold: float = DEFAULT_ALERT_THRESHOLD) -> dict:
        return {
            **asdict(self),
            "pct_change": self.pct_change,
            "kind": self.kind(threshold),
            "alert": self.is_alert(threshold),
        }


def all_changes(
    points: pd.DataFrame,
    config: DetectorConfig = DEFAULT_DETECTOR,
    acknowledged: Iterable[Acknowledgement] = (),
) -> list[Change]:
    """Change points of every series of an ordered points table, named by their commits.

    The benchmarks of one series name and machine class are searched together
    (``run_factor.detect_together``): a point's run unit is its run and target, so what
    a run's machine state did to all its benchmarks is divided out of each, and a step
    of most of them at once (the run factor's) is kept and marked ``shared``.
    """
    if points.empty:
        return []
    acks = ProjectConfig(acknowledged=list(acknowledged))
    out: list[Change] = []
    for _, suite in points.groupby(["series", "machine_id"], sort=False):
        groups = [g.reset_index(drop=True) for _, g in suite.groupby(SERIES_KEY, sort=False)]
        found = detect_together(
            [g["median_seconds"].to_numpy(float) for g in groups],
            [list(g["worker_seconds"]) for g in groups],
            [_units(g) for g in groups],
            config,
        )
        for group, changes in zip(groups, found, strict=True):
            out += _series_changes(group, changes, acks)
    return out


def _series_changes(
    points: pd.DataFrame, found: list[ChangePoint], acks: ProjectConfig
) -> list[Change]:
    """The change points of one series (its points in order), with their commits."""
    first = points.iloc[0]
    out = []
    for i, cp in enumerate(found):
        before, after = points.iloc[cp.index - 1], points.iloc[cp.index]
        ack = acks.acknowledgement(str(first.benchmark_id), _text(after.git_sha))
        out.append(
            Change(
                benchmark_id=str(first.benchmark_id),
                series=str(first.series),
                machine_id=str(first.machine_id),
                index=cp.index,
                before_sha=_text(before.git_sha),
                after_sha=_text(after.git_sha),
                before_run=str(before.run_id),
                after_run=str(after.run_id),
                after_time=_text(after.commit_time) or _text(after.created),
                ratio=cp.ratio,
                ci_low=cp.ci_low,
                ci_high=cp.ci_high,
                p_value=cp.p_value,
                n_before=cp.n_before,
                n_after=cp.n_after,
                at_head=i == len(found) - 1,
                acknowledged=ack.reason if ack else None,
                shared=cp.shared,
            )
        )
    return out


def _units(points: pd.DataFrame) -> list[tuple[str, str]]:
    """The measurement each point came from: its run and (in a backfill) its target."""
    targets = points["target"] if "target" in points else [""] * len(points)
    return list(zip(points["run_id"].astype(str), map(str, targets), strict=True))


def alerts(changes: Iterable[Change], threshold: float = DEFAULT_ALERT_THRESHOLD) -> list[Change]:
    """Unacknowledged regression steps at the head of their series."""
    return [c for c in changes if c.is_alert(threshold)]


def _text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    return str(value) or None
