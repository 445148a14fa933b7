"""The optional ``perfkit.toml`` of a project: its ``[budgets]`` and ``[acknowledged]`` tables.

Looked up next to the suite, then in the working directory. This module parses
and validates the file and says which budget applies to a case (a run records that in
run.json); it does not judge measurements (analysis/budgets.py does).
"""

from __future__ import annotations

import fnmatch
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perfkit.errors import PerfkitError
from perfkit.render.format import format_bytes, format_seconds
from perfkit.rundir.schema import BudgetRecord, CaseRecord
from perfkit.units import parse_bytes, parse_seconds

CONFIG_NAME = "perfkit.toml"


@dataclass(frozen=True)
class BudgetRule:
    """One entry of ``[budgets]``: a benchmark id, name or glob and its limits."""

    pattern: str
    seconds: float | None = None
    seconds_text: str | None = None
    bytes: int | None = None
    bytes_text: str | None = None


@dataclass(frozen=True)
class Acknowledgement:
    """One entry of ``[acknowledged]``: a change at a commit the team accepted, and why."""

    commit: str  # a sha or its prefix (at least 7 hex digits)
    reason: str
    benchmarks: tuple[str, ...] = ("*",)  # ids, names or globs it covers

    def covers(self, benchmark_id: str, sha: str | None) -> bool:
        if not sha or not sha.lower().startswith(self.commit.lower()):
            return False
        name = benchmark_id.split("[", 1)[0]
        return any(
            p in (benchmark_id, name)
            or fnmatch.fnmatchcase(benchmark_id, p)
            or fnmatch.fnmatchcase(name, p)
            for p in self.benchmarks
        )


@dataclass(frozen=True)
class ProjectConfig:
    path: Path | None = None
    budgets: list[BudgetRule] = field(default_factory=list)
    acknowledged: list[Acknowledgement] = field(default_factory=list)

    def acknowledgement(self, benchmark_id: str, sha: str | None) -> Acknowledgement | None:
        """The acknowledgement that covers a change of `benchmark_id` at commit `sha`, if any."""
        return next((a for a in self.acknowledged if a.covers(benchmark_id, sha)), None)

    def budget_for(self, full_id: str, name: str) -> tuple[BudgetRule | None, BudgetRule | None]:
        """The (time, memory) rules for a case: exact id, then benchmark name, then first glob."""

        def pick(kind: str) -> BudgetRule | None:
            rules = [r for r in self.budgets if getattr(r, kind) is not None]
            for wanted in (full_id, name):
                for rule in rules:
                    if rule.pattern == wanted:
                        return rule
            for rule in rules:
                if fnmatch.fnmatchcase(full_id, rule.pattern) or fnmatch.fnmatchcase(
                    name, rule.pattern
                ):
                    return rule
            return None

        return pick("seconds"), pick("bytes")


def _is_time(text: str) -> bool:
    try:
        parse_seconds(text)
    except PerfkitError:
        return False
    return True


def _rule(path: Path, pattern: str, value: Any) -> BudgetRule:
    where = f"{path}: [budgets] {pattern!r}"
    try:
        if isinstance(value, str):
            if _is_time(value):
                return BudgetRule(pattern, seconds=parse_seconds(value), seconds_text=value)
            return BudgetRule(pattern, bytes=parse_bytes(value), bytes_text=value)
        if isinstance(value, dict):
            unknown = set(value) - {"time", "memory"}
            if unknown:
                raise PerfkitError(f"unknown key(s) {', '.join(sorted(unknown))}")
            time_text, memory_text = value.get("time"), value.get("memory")
            return BudgetRule(
                pattern,
                seconds=parse_seconds(str(time_text)) if time_text is not None else None,
                seconds_text=str(time_text) if time_text is not None else None,
                bytes=parse_bytes(str(memory_text)) if memory_text is not None else None,
                bytes_text=str(memory_text) if memory_text is not None else None,
            )
    except PerfkitError as exc:
        raise PerfkitError(f"{where}: {exc}") from None
    raise PerfkitError(
        f'{where}: expected "5s"/"500MB" or {{time = "5s", memory = "500MB"}}, got {value!r}'
    )


_HEX = set("0123456789abcdefABCDEF")


def _acknowledgement(path: Path, commit: str, value: Any) -> Acknowledgement:
    where = f"{path}: [acknowledged] {commit!r}"
    if len(commit) < 7 or not set(commit) <= _HEX:
        raise PerfkitError(f"{where}: the key must be a commit sha (at least 7 hex digits)")
    if isinstance(value, str):
        reason, benchmarks = value, ["*"]
    elif isinstance(value, dict):
        unknown = set(value) - {"reason", "benchmarks"}
        if unknown:
            raise PerfkitError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        reason = value.get("reason", "")
        benchmarks = value.get("benchmarks", ["*"])
        if isinstance(benchmarks, str):
            benchmarks = [benchmarks]
        if not isinstance(benchmarks, list) or not all(isinstance(b, str) for b in benchmarks):
            raise PerfkitError(f"{where}: benchmarks must be a list of ids or globs")
    else:
        raise PerfkitError(
            f'{where}: expected "reason" or {{reason = "...", benchmarks = ["glob"]}}'
        )
    if not isinstance(reason, str) or not reason.strip():
        raise PerfkitError(f"{where}: say why the change is accepted (a non-empty reason)")
    return Acknowledgement(commit=commit, reason=reason.strip(), benchmarks=tuple(benchmarks))


def find_config(suite: str | None = None, cwd: Path | None = None) -> Path | None:
    """``perfkit.toml`` next to the suite file, else in `cwd`; None when there is none."""
    candidates = []
    if suite:
        suite_path = Path(suite)
        if suite_path.suffix == ".py" or suite_path.is_file():
            candidates.append(suite_path.parent / CONFIG_NAME)
    candidates.append(Path(cwd or Path.cwd()) / CONFIG_NAME)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    return None


def load_config(path: Path | None) -> ProjectConfig:
    """Parse a ``perfkit.toml``; errors name the file and the offending entry."""
    if path is None:
        return ProjectConfig()
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise PerfkitError(f"{path}: invalid TOML ({exc})") from None
    except OSError as exc:
        raise PerfkitError(f"{path}: cannot read ({exc.strerror})") from None
    table = data.get("budgets", {})
    if not isinstance(table, dict):
        raise PerfkitError(f"{path}: [budgets] must be a table")
    acks = data.get("acknowledged", {})
    if not isinstance(acks, dict):
        raise PerfkitError(f"{path}: [acknowledged] must be a table of commit = reason")
    return ProjectConfig(
        path=Path(path),
        budgets=[_rule(Path(path), k, v) for k, v in table.items()],
        acknowledged=[_acknowledgement(Path(path), k, v) for k, v in acks.items()],
    )


def project_config(suite: str | None = None, cwd: Path | None = None) -> ProjectConfig:
    """The project configuration that applies to a suite (empty when there is no file)."""
    return load_config(find_config(suite, cwd))


def case_budgets(cases: Iterable[CaseRecord], config: ProjectConfig) -> tuple[BudgetRecord, ...]:
    """The budgets that apply to each case now: a ``perfkit.toml`` entry over the decorator's.

    A run records these in run.json, so that its verdicts never change with the file.
    """
    source = f"{CONFIG_NAME} ({config.path})" if config.path else CONFIG_NAME
    records: list[BudgetRecord] = []
    for case in cases:
        time_rule, memory_rule = config.budget_for(case.id, case.name)
        if time_rule is not None and time_rule.seconds is not None:
            text = time_rule.seconds_text or format_seconds(time_rule.seconds)
            records.append(BudgetRecord(case.id, "time", time_rule.seconds, text, source))
        elif case.budget_seconds is not None:
            text = format_seconds(case.budget_seconds)
            records.append(BudgetRecord(case.id, "time", case.budget_seconds, text, "decorator"))
        if memory_rule is not None and memory_rule.bytes is not None:
            text = memory_rule.bytes_text or format_bytes(memory_rule.bytes)
            records.append(BudgetRecord(case.id, "memory", float(memory_rule.bytes), text, source))
        elif case.memory_budget_bytes is not None:
            limit = float(case.memory_budget_bytes)
            text = format_bytes(case.memory_budget_bytes)
            records.append(BudgetRecord(case.id, "memory", limit, text, "decorator"))
    return tuple(records)
