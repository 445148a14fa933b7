"""The optional ``perfkit.toml`` of a project: today its ``[budgets]`` table.

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
from perfkit.rundir.schema import BudgetRecord, CaseRecord
from perfkit.units import format_bytes, format_seconds, parse_bytes, parse_seconds

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
class ProjectConfig:
    path: Path | None = None
    budgets: list[BudgetRule] = field(default_factory=list)

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
    return ProjectConfig(
        path=Path(path), budgets=[_rule(Path(path), k, v) for k, v in table.items()]
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
