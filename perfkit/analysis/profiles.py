"""Profiles: any pstats file read into tidy tables, and the diff of two profiles.

This module owns the profile data model (`Profile`: functions and caller->callee
edges, paths relative to the target's root) and its analysis. It never profiles
and never draws (see perfkit.collect.profiling and perfkit.render.callgraph).

`.prof` files are trusted input: pstats files are `marshal` data, and marshal is not
safe against maliciously constructed files. Only open profiles you or your CI made.
"""

from __future__ import annotations

import marshal
import os
import re
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from perfkit.errors import ProfileError

FUNCTION_COLUMNS = [
    "key",
    "file",
    "line",
    "function",
    "ncalls",
    "primcalls",
    "tottime",
    "cumtime",
]
EDGE_COLUMNS = ["caller", "callee", "ncalls", "primcalls", "tottime", "cumtime"]
DIFF_COLUMNS = [
    "key",
    "function",
    "file",
    "line",
    "status",
    "baseline_tottime_seconds",
    "current_tottime_seconds",
    "delta_tottime_seconds",
    "baseline_cumtime_seconds",
    "current_cumtime_seconds",
    "delta_cumtime_seconds",
    "baseline_ncalls",
    "current_ncalls",
    "delta_ncalls",
]
_INT_COLUMNS = frozenset({"line", "ncalls", "primcalls"})
_FLOAT_COLUMNS = frozenset({"tottime", "cumtime"})

SITE_PACKAGES = "<site-packages>"
STDLIB = "<stdlib>"
_SITE = re.compile(r"/(?:site|dist)-packages/")
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
_STDLIB = re.compile(r"/(?:lib/(?:pypy|python)\d+(?:\.\d+)?t?|[Pp]ython3\d*/Lib)/")


def _stdlib_prefixes() -> list[str]:
    paths = sysconfig.get_paths()
    found = {os.path.normpath(paths[name]) for name in ("stdlib", "platstdlib") if name in paths}
    return sorted((p.replace("\\", "/") + "/" for p in found), key=len, reverse=True)


class PathShortener:
    """Maps a profile's file paths to names that match across checkouts and machines.

    Order matters: site-packages first (a virtualenv may live inside the root), then
    the target's root, then the standard library. Anything else stays as recorded.
    """

    def __init__(self, root: str | Path | None = None) -> None:
        self.roots: list[str] = []
        if root is not None:
            for form in (os.path.abspath(root), os.path.realpath(root)):
                prefix = form.replace("\\", "/").rstrip("/") + "/"
                if prefix not in self.roots:
                    self.roots.append(prefix)
        self.stdlib = _stdlib_prefixes()
        self._cache: dict[str, str] = {}

    def __call__(self, file: str) -> str:
        try:
            return self._cache[file]
        except KeyError:
            short = self._cache[file] = self._shorten(file)
            return short

    def _shorten(self, file: str) -> str:
        if file == "~" or file.startswith("<"):
            return file  # built-ins, <string>, <frozen importlib._bootstrap>
        path = file.replace("\\", "/")
        sites = list(_SITE.finditer(path))
        if sites:
            return f"{SITE_PACKAGES}/{path[sites[-1].end() :]}"
        for prefix in self.roots:
            if path.startswith(prefix):
                return path[len(prefix) :]
        for prefix in self.stdlib:
            if path.startswith(prefix):
                return f"{STDLIB}/{path[len(prefix) :]}"
        match = _STDLIB.search(path)
        if match is not None:
            return f"{STDLIB}/{path[match.end() :]}"
        return path


def function_key(file: str, line: int, function: str) -> str:
    """pstats' own spelling: ``file:line(function)``, ``{built-in method ...}`` for built-ins."""
    if file == "~" and line == 0:
        return (
            f"{{{function[1:-1]}}}"
            if function.startswith("<") and function.endswith(">")
            else function
        )
    return f"{file}:{line}({function})"


@dataclass(frozen=True)
class Profile:
    """One profile as two tables.

    `functions`: one row per pstats entry (key, file, line, function, ncalls,
    primcalls, tottime, cumtime). `edges`: one row per caller->callee pair (caller,
    callee, ncalls, primcalls, tottime, cumtime; times are NaN for files of the pure
    Python `profile` module, which records only call counts). `calls` is how many
    scenario (body) calls the profile covers: 1 for foreign files.
    """

    functions: pd.DataFrame
    edges: pd.DataFrame
    total_seconds: float
    calls: int = 1
    path: Path | None = None
    root: str | None = None

    @property
    def total_calls(self) -> int:
        return int(self.functions["ncalls"].sum())

    @property
    def primitive_calls(self) -> int:
        return int(self.functions["primcalls"].sum())

    @property
    def seconds_per_call(self) -> float:
        """Own time of all functions per scenario call (profiler overhead included)."""
        return self.total_seconds / self.calls

    def top(self, n: int = 20, by: str = "tottime") -> pd.DataFrame:
        """The first `n` rows by any column of `functions`: largest first for numbers
        (tottime, cumtime, ncalls, primcalls, line), alphabetical for text."""
        if by not in self.functions.columns:
            raise ProfileError(
                f"cannot sort a profile by {by!r} (use one of {', '.join(FUNCTION_COLUMNS)})"
            )
        numeric = by in _INT_COLUMNS or by in _FLOAT_COLUMNS
        columns = [by, "key"] if by != "key" else ["key"]
        ascending = [not numeric, True][: len(columns)]
        ordered = self.functions.sort_values(columns, ascending=ascending, kind="stable")
        return ordered.head(n).reset_index(drop=True)

    def find(self, name: str) -> str:
        """The key of one function: an exact key, a function name, or a unique part of a key."""
        keys = self.functions["key"]
        if (keys == name).any():
            return name
        for candidates in (
            keys[self.functions["function"] == name],
            keys[keys.str.contains(name, regex=False)],
        ):
            if len(candidates) == 1:
                return str(candidates.iloc[0])
            if len(candidates) > 1:
                shown = ", ".join(candidates.head(5))
                more = f" and {len(candidates) - 5} more" if len(candidates) > 5 else ""
                raise ProfileError(f"{name!r} matches {len(candidates)} functions: {shown}{more}")
        raise ProfileError(f"no function matching {name!r} in {self.path or 'profile'}")

    def callers(self, name: str) -> pd.DataFrame:
        """Edges into one function, biggest cumulative time first."""
        key = self.find(name)
        rows = self.edges[self.edges["callee"] == key]
        return rows.sort_values(["cumtime", "caller"], ascending=[False, True]).reset_index(
            drop=True
        )

    def callees(self, name: str) -> pd.DataFrame:
        """Edges out of one function, biggest cumulative time first."""
        key = self.find(name)
        rows = self.edges[self.edges["caller"] == key]
        return rows.sort_values(["cumtime", "callee"], ascending=[False, True]).reset_index(
            drop=True
        )


def _read_stats(path: Path) -> dict[Any, Any]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ProfileError(f"{path}: no such profile file") from None
    except IsADirectoryError:
        raise ProfileError(f"{path}: is a directory, not a profile file") from None
    except OSError as exc:
        raise ProfileError(f"{path}: cannot read ({exc.strerror})") from None
    if not data:
        raise ProfileError(f"{path}: empty file, not a pstats profile")
    if data[:1] not in (b"{", b"\xfb"):  # marshal of a dict, with or without FLAG_REF
        raise ProfileError(f"{path}: not a pstats profile (does not start with marshal dict data)")
    try:
        stats = marshal.loads(data)
    except EOFError:
        raise ProfileError(f"{path}: truncated pstats file (ends before its data does)") from None
    except (ValueError, TypeError) as exc:
        version = f"{sys.version_info.major}.{sys.version_info.minor}"
        if "unknown type code" in str(exc):
            raise ProfileError(
                f"{path}: unreadable pstats data, probably written by another Python version "
                f"(this is {version}; open it with the Python that wrote it)"
            ) from None
        raise ProfileError(f"{path}: not a pstats profile ({exc})") from None
    if not isinstance(stats, dict):
        raise ProfileError(
            f"{path}: not a pstats profile (holds a {type(stats).__name__}, expected a dict)"
        )
    if not stats:
        raise ProfileError(f"{path}: empty profile (no functions recorded)")
    return stats


def _tables(
    stats: dict[Any, Any], shorten: PathShortener
) -> tuple[dict[str, list[Any]], dict[str, list[Any]], float]:
    raw_keys = list(stats)
    if not all(type(k) is tuple and len(k) == 3 for k in raw_keys):
        raise ValueError("keys must be (file, line, function) tuples")
    files = [shorten(file) for file, _, _ in raw_keys]
    lines = [line for _, line, _ in raw_keys]
    names = [name for _, _, name in raw_keys]
    keys = [function_key(f, n, fn) for f, n, fn in zip(files, lines, names, strict=True)]
    if len(set(keys)) != len(keys):
        keys = _unique_keys(raw_keys, keys)
    key_of = dict(zip(raw_keys, keys, strict=True))
    values = list(stats.values())
    primcalls = [v[0] for v in values]
    ncalls = [v[1] for v in values]
    tottime = [v[2] for v in values]
    cumtime = [v[3] for v in values]
    total = 0.0
    for seconds in tottime:  # the same order and operation as pstats, so totals agree exactly
        total += seconds
    edge_caller: list[str] = []
    edge_callee: list[str] = []
    edge_values: list[Any] = []
    for callee, value in zip(keys, values, strict=True):
        for caller, call in value[4].items():
            edge_caller.append(
                key_of.get(caller) or function_key(shorten(caller[0]), caller[1], caller[2])
            )
            edge_callee.append(callee)
            edge_values.append(call)
    if all(type(v) is tuple for v in edge_values):
        e_ncalls = [v[0] for v in edge_values]
        e_primcalls = [v[1] for v in edge_values]
        e_tottime = [v[2] for v in edge_values]
        e_cumtime = [v[3] for v in edge_values]
    else:  # the pure Python `profile` module records call counts only
        e_ncalls = [v[0] if isinstance(v, tuple) else int(v) for v in edge_values]
        e_primcalls = [v[1] if isinstance(v, tuple) else int(v) for v in edge_values]
        e_tottime = [v[2] if isinstance(v, tuple) else float("nan") for v in edge_values]
        e_cumtime = [v[3] if isinstance(v, tuple) else float("nan") for v in edge_values]
    functions = {
        "key": keys,
        "file": files,
        "line": lines,
        "function": names,
        "ncalls": ncalls,
        "primcalls": primcalls,
        "tottime": tottime,
        "cumtime": cumtime,
    }
    edges = {
        "caller": edge_caller,
        "callee": edge_callee,
        "ncalls": e_ncalls,
        "primcalls": e_primcalls,
        "tottime": e_tottime,
        "cumtime": e_cumtime,
    }
    return functions, edges, total


def _unique_keys(raw_keys: list[tuple[str, int, str]], keys: list[str]) -> list[str]:
    """Two files that shorten to the same name keep their recorded paths instead."""
    seen: dict[str, int] = {}
    for key in keys:
        seen[key] = seen.get(key, 0) + 1
    return [
        function_key(*raw) if seen[key] > 1 else key
        for raw, key in zip(raw_keys, keys, strict=True)
    ]


def _frame(columns: dict[str, list[Any]], names: list[str]) -> pd.DataFrame:
    data: dict[str, Any] = {}
    for name in names:
        if name in _INT_COLUMNS:
            data[name] = np.array(columns[name], dtype=np.int64)
        elif name in _FLOAT_COLUMNS:
            data[name] = np.array(columns[name], dtype=np.float64)
        else:
            data[name] = np.array(columns[name], dtype=object)
    return pd.DataFrame(data, columns=names, copy=False)


def load_profile(
    path: str | Path, root: str | Path | None = None, *, calls: int | None = None
) -> Profile:
    """Read any pstats file (cProfile, profile, other tools) into a `Profile`.

    `root` is the target's checkout: paths under it become relative, so that the
    same function matches across checkouts. `calls` is the number of scenario calls
    the profile covers (the diff compares per call). For a file inside a perfkit run
    directory both default to what the run recorded (run.json's target path,
    profiles.csv's calls); elsewhere to no root and 1 call. Raises `ProfileError` (one
    line naming the file) for a file that is not a readable pstats profile.
    """
    path = Path(path)
    if root is None or calls is None:
        from perfkit.analysis.profile_origin import recorded_in_run

        recorded_root, recorded_calls = recorded_in_run(path)
        root = recorded_root if root is None else root
        calls = recorded_calls if calls is None else calls
    if calls < 1:
        raise ProfileError(f"{path}: calls must be at least 1, got {calls}")
    stats = _read_stats(path)
    try:
        functions, edges, total = _tables(stats, PathShortener(root))
        profile = Profile(
            functions=_frame(functions, FUNCTION_COLUMNS),
            edges=_frame(edges, EDGE_COLUMNS),
            total_seconds=total,
            calls=int(calls),
            path=path,
            root=str(root) if root is not None else None,
        )
    except (TypeError, ValueError, IndexError, AttributeError, OverflowError) as exc:
        raise ProfileError(f"{path}: not a pstats profile (unexpected entry: {exc})") from None
    return profile


def _match_keys(functions: pd.DataFrame) -> list[str]:
    """Keys that survive edits above a function: file and name, then rank by line.

    Line numbers shift whenever code above a function changes, so functions are
    matched by (file, function name); several same-named functions in one file
    (methods, lambdas) are told apart by their order in the file. Memory addresses
    in built-ins' names (``__new__ of type object at 0x...``) differ per process and
    are ignored.
    """
    files = functions["file"].tolist()
    names = [_ADDRESS.sub("", name) if " at 0x" in name else name for name in functions["function"]]
    lines = functions["line"].tolist()
    order = sorted(range(len(files)), key=lines.__getitem__)
    rank: dict[tuple[str, str], int] = {}
    result = [""] * len(files)
    for i in order:
        pair = (files[i], names[i])
        n = rank.get(pair, 0)
        rank[pair] = n + 1
        result[i] = f"{files[i]}\x00{names[i]}\x00{n}"
    return result


def _per_call(profile: Profile) -> pd.DataFrame:
    f = profile.functions
    return pd.DataFrame(
        {
            "match": _match_keys(f),
            "key": f["key"].to_numpy(),
            "function": f["function"].to_numpy(),
            "file": f["file"].to_numpy(),
            "line": f["line"].to_numpy(),
            "tottime": f["tottime"].to_numpy() / profile.calls,
            "cumtime": f["cumtime"].to_numpy() / profile.calls,
            "ncalls": f["ncalls"].to_numpy() / profile.calls,
        }
    )


def diff_profiles(base: Profile, current: Profile) -> pd.DataFrame:
    """What changed between two profiles, per scenario call, biggest own-time change first.

    One row per function in either profile: key, function, file, line (of the current
    side when present), status (``changed`` in both, ``new`` only in current,
    ``gone`` only in baseline), baseline/current/delta of tottime and cumtime in
    seconds per scenario call and of ncalls per scenario call. Rows are sorted by
    the absolute change of own time (tottime).
    """
    left = _per_call(base)
    right = _per_call(current)
    merged = left.merge(
        right, on="match", how="outer", suffixes=("_b", "_c"), indicator=True, sort=False
    )
    present = merged["_merge"]
    in_current = present != "left_only"
    status = pd.Series("changed", index=merged.index)
    status[present == "right_only"] = "new"
    status[present == "left_only"] = "gone"
    out = pd.DataFrame(
        {
            "key": merged["key_c"].where(in_current, merged["key_b"]),
            "function": merged["function_c"].where(in_current, merged["function_b"]),
            "file": merged["file_c"].where(in_current, merged["file_b"]),
            "line": merged["line_c"].where(in_current, merged["line_b"]).astype("int64"),
            "status": status,
        }
    )
    for column in ("tottime", "cumtime", "ncalls"):
        unit = "" if column == "ncalls" else "_seconds"
        b = merged[f"{column}_b"].fillna(0.0)
        c = merged[f"{column}_c"].fillna(0.0)
        out[f"baseline_{column}{unit}"] = b
        out[f"current_{column}{unit}"] = c
        out[f"delta_{column}{unit}"] = c - b
    out = out[DIFF_COLUMNS]
    out = out.assign(_abs=out["delta_tottime_seconds"].abs()).sort_values(
        ["_abs", "key"], ascending=[False, True], kind="stable"
    )
    return out.drop(columns="_abs").reset_index(drop=True)
