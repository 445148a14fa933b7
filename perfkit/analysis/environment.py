"""What differs between the environments of a baseline and a current side.

A pure function of two run.json target records (`perfkit.rundir.TargetInfo`): the
interpreter (implementation and version) and the installed distributions, matched by
normalized name (PEP 503), so a reader of `perfkit compare` or of the report sees what
was really compared: "packaging 21.3 → 22.0" next to "11.5× faster". Runs made before
perfkit recorded interpreters fall back to the run's own Python; their packages are
unknown, which the lines say when only one side has them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from perfkit.rundir import InterpreterInfo, TargetInfo

ABSENT = "(none)"


def normalize(name: str) -> str:
    """PEP 503: ``Foo.Bar_baz`` and ``foo-bar-baz`` are one distribution."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class PackageChange:
    """One distribution whose version differs; None where a side does not have it."""

    name: str
    baseline: str | None
    current: str | None

    @property
    def kind(self) -> str:
        if self.baseline is None:
            return "added"
        if self.current is None:
            return "removed"
        return "changed"

    def text(self) -> str:
        return f"{self.name} {self.baseline or ABSENT} → {self.current or ABSENT}"


@dataclass(frozen=True)
class EnvironmentDiff:
    """Baseline vs current environment: interpreters and the packages that differ."""

    baseline_python: str  # e.g. "CPython 3.11.7", "" when not recorded
    current_python: str
    baseline_executable: str
    current_executable: str
    packages: tuple[PackageChange, ...]
    packages_known: bool  # both sides recorded their packages
    recorded_on_one_side: bool = False

    @property
    def python_changed(self) -> bool:
        return self.baseline_python != self.current_python

    @property
    def same(self) -> bool:
        return not self.python_changed and not self.packages and self.packages_known

    def lines(self, limit: int = 20) -> list[str]:
        """The differences in words, one line each (empty when the environments agree)."""
        out = []
        if self.python_changed:
            out.append(
                f"Python {self.baseline_python or 'unknown'} → {self.current_python or 'unknown'}"
            )
        if self.packages:
            shown = ", ".join(p.text() for p in self.packages[:limit])
            more = len(self.packages) - limit
            out.append(f"packages: {shown}" + (f" and {more} more" if more > 0 else ""))
        if self.recorded_on_one_side:
            out.append("packages recorded on one side only (the other run predates the record)")
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "baseline_python": self.baseline_python or None,
            "current_python": self.current_python or None,
            "baseline_executable": self.baseline_executable or None,
            "current_executable": self.current_executable or None,
            "python_changed": self.python_changed,
            "packages_known": self.packages_known,
            "packages": [
                {"name": p.name, "baseline": p.baseline, "current": p.current, "change": p.kind}
                for p in self.packages
            ],
        }


def _python(interpreter: InterpreterInfo | None, run_python: Mapping[str, Any]) -> str:
    if interpreter is not None:
        parts = (interpreter.implementation, interpreter.version)
    else:  # an older run: its targets ran perfkit's own interpreter
        parts = (run_python.get("implementation"), run_python.get("version"))
    return " ".join(str(p) for p in parts if p)


def package_changes(
    baseline: Mapping[str, str], current: Mapping[str, str]
) -> tuple[PackageChange, ...]:
    """Distributions added, removed or at another version, by name."""
    base = {normalize(k): (k, v) for k, v in baseline.items()}
    cur = {normalize(k): (k, v) for k, v in current.items()}
    changes = []
    for key in sorted(base.keys() | cur.keys()):
        b, c = base.get(key), cur.get(key)
        if b is not None and c is not None and b[1] == c[1]:
            continue
        name = (c or b or (key, ""))[0]
        changes.append(PackageChange(name, b[1] if b else None, c[1] if c else None))
    return tuple(changes)


def environment_diff(
    baseline: TargetInfo | None,
    current: TargetInfo | None,
    baseline_run_python: Mapping[str, Any] | None = None,
    current_run_python: Mapping[str, Any] | None = None,
) -> EnvironmentDiff:
    """Compare two targets' recorded environments (see the module docstring)."""
    b = baseline.interpreter if baseline is not None else None
    c = current.interpreter if current is not None else None
    known = b is not None and c is not None
    return EnvironmentDiff(
        baseline_python=_python(b, baseline_run_python or {}),
        current_python=_python(c, current_run_python or {}),
        baseline_executable=b.executable
        if b
        else str((baseline_run_python or {}).get("executable") or ""),
        current_executable=c.executable
        if c
        else str((current_run_python or {}).get("executable") or ""),
        packages=package_changes(b.packages, c.packages) if b and c else (),
        packages_known=known,
        recorded_on_one_side=(b is None) != (c is None),
    )
