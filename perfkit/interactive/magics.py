"""IPython magics (``%load_ext perfkit``): time, profile and measure the memory of a statement.

Measures through `perfkit.interactive.inprocess` and `perfkit.collect.profiling`, reads profiles with
`perfkit.analysis.profiles` and draws with `perfkit.render.icicle`; it holds no measurement logic of its
own. Every result shows as HTML in a notebook and as readable plain text elsewhere.
"""

from __future__ import annotations

import ast
import base64
import cProfile
import html
import os
import re
import shlex
import statistics
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class
from IPython.display import display

from perfkit.config import DEFAULT_IN_PROCESS, DEFAULT_PLAN
from perfkit.render.format import format_bytes, format_count, format_seconds, format_seconds_ci

if TYPE_CHECKING:
    from perfkit.analysis.profiles import Profile
    from perfkit.interactive.inprocess import MemoryResult, TimeResult

DEFAULT_PROFILE_DIR = Path("perfkit-profiles")
TOP_FUNCTIONS = 15
TOP_SITES = 5
SORT_KEYS = ("tottime", "cumtime", "ncalls")
_STYLE = "font-family: var(--jp-code-font-family, monospace); font-size: 0.9em"


class _Rich:
    """A result shown as ``text`` in terminals and text/plain outputs, as ``html`` in notebooks."""

    @property
    def text(self) -> str:
        raise NotImplementedError

    def _repr_html_(self) -> str:
        return self.html()

    def html(self) -> str:
        return f"<pre>{html.escape(self.text)}</pre>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.text)

    def __repr__(self) -> str:
        return self.text


def _table_html(header: list[str], rows: list[list[str]], right: set[int]) -> str:
    def cell(tag: str, i: int, value: str) -> str:
        align = "right" if i in right else "left"
        return f'<{tag} style="text-align:{align}">{html.escape(value)}</{tag}>'

    head = "".join(cell("th", i, h) for i, h in enumerate(header))
    body = "".join(
        "<tr>" + "".join(cell("td", i, v) for i, v in enumerate(row)) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _table_text(header: list[str], rows: list[list[str]], right: set[int]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(row: list[str]) -> str:
        cells = [
            v.rjust(w) if i in right else v.ljust(w)
            for i, (v, w) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    return "\n".join(line(r) for r in [header, *rows])


@dataclass(repr=False)
class TimeReport(_Rich):
    """What ``%perfkit_time`` says: median, CI and how it was sampled."""

    statement: str
    result: TimeResult

    @property
    def text(self) -> str:
        medians = sorted(statistics.median(group) for group in self.result.groups)
        return (
            f"{self.result.describe()}\n"
            f"fastest sample {format_seconds(self.result.min_seconds)}; group medians "
            f"{format_seconds(medians[0])} … {format_seconds(medians[-1])} (one process: "
            "use `perfkit run` to compare versions)"
        )

    def html(self) -> str:
        r = self.result
        confidence = f"{r.confidence * 100:g} % CI"
        return (
            f'<div style="{_STYLE}"><code>{html.escape(self.statement)}</code>: '
            f"<b>{format_seconds(r.median_seconds)}</b> per call "
            f"({confidence} {format_seconds_ci(r.ci_low_seconds, r.ci_high_seconds)}), median over "
            f"{html.escape(r.shape_text())}; fastest sample {format_seconds(r.min_seconds)}</div>"
        )


@dataclass(repr=False)
class ProfileReport(_Rich):
    """What ``%perfkit_profile`` says: top functions, icicle chart, where the .prof is."""

    statement: str
    profile: Profile
    prof_path: Path
    seconds: float
    icicle_png: bytes | None = None
    icicle_path: Path | None = None
    icicle_error: str = ""
    top: int = TOP_FUNCTIONS
    sort: str = "tottime"

    @property
    def command(self) -> str:
        return f"snakeviz {shlex.quote(str(self.prof_path))}"

    def headline(self) -> str:
        calls = self.profile.calls
        return (
            f"profiled {calls} call{'s' if calls != 1 else ''} of the statement: "
            f"{format_seconds(self.seconds)} under cProfile "
            f"({format_seconds(self.seconds / calls)} per call, profiler overhead included)"
        )

    def rows(self) -> tuple[list[str], list[list[str]], set[int]]:
        calls = self.profile.calls
        total = self.profile.total_seconds or 1.0
        header = ["own/call", "own %", "cum/call", "calls/call", "function"]
        rows = []
        functions = self.profile.top(self.top + 1, by=self.sort)
        functions = functions[~functions["key"].str.contains("_lsprof.Profiler", regex=False)]
        for fn in functions.head(self.top).itertuples(index=False):
            where = fn.key if fn.file == "~" else f"{fn.function} ({fn.file}:{fn.line})"
            rows.append(
                [
                    format_seconds(fn.tottime / calls),
                    f"{100 * fn.tottime / total:.1f}",
                    format_seconds(fn.cumtime / calls),
                    format_count(fn.ncalls / calls),
                    where,
                ]
            )
        return header, rows, {0, 1, 2, 3}

    @property
    def text(self) -> str:
        header, rows, right = self.rows()
        lines = [self.headline(), f"top {len(rows)} functions by {self.sort}:"]
        lines.append(textwrap.indent(_table_text(header, rows, right), "  "))
        if self.icicle_path is not None:
            lines.append(f"icicle chart: {self.icicle_path}")
        elif self.icicle_error:
            lines.append(f"icicle chart not drawn: {self.icicle_error}")
        lines.append(f"profile saved: {self.prof_path}")
        lines.append(f"open it: {self.command}")
        return "\n".join(lines)

    def html(self) -> str:
        header, rows, right = self.rows()
        parts = [
            f'<div style="{_STYLE}"><p><code>{html.escape(self.statement)}</code>: '
            f"{html.escape(self.headline())}</p>",
            f"<p>top {len(rows)} functions by {self.sort}</p>",
            _table_html(header, rows, right),
        ]
        if self.icicle_png is not None:
            data = base64.b64encode(self.icicle_png).decode()
            parts.append(f'<img alt="icicle chart" src="data:image/png;base64,{data}"/>')
        parts.append(
            f"<p>profile saved: <code>{html.escape(str(self.prof_path))}</code>; open it: "
            f"<code>{html.escape(self.command)}</code></p></div>"
        )
        return "".join(parts)


@dataclass(repr=False)
class MemoryReport(_Rich):
    """What ``%perfkit_memory`` says: peak, growth per call, sites that grew."""

    statement: str
    result: MemoryResult
    sites: list[dict[str, Any]] = field(default_factory=list)

    def _site_rows(self) -> list[list[str]]:
        return [
            [f"+{format_bytes(s['size_bytes'])}", str(s["count"]), str(s["site"])]
            for s in self.sites[:TOP_SITES]
        ]

    @property
    def text(self) -> str:
        lines = [self.result.describe()]
        rows = self._site_rows()
        if rows:
            lines.append("allocation sites that grew:")
            table = _table_text(["size", "blocks", "site"], rows, {0, 1})
            lines.append(textwrap.indent(table, "  "))
        return "\n".join(lines)

    def html(self) -> str:
        r = self.result
        parts = [
            f'<div style="{_STYLE}"><code>{html.escape(self.statement)}</code>: '
            f"peak <b>+{format_bytes(r.added_peak_bytes)}</b> "
            f"(RSS {format_bytes(r.baseline_rss_bytes)} → {format_bytes(r.peak_rss_bytes)}, "
            f"Python peak {format_bytes(r.py_peak_bytes)}) over {r.calls} calls; "
            f"<b>{html.escape(r.growth_note)}</b>"
        ]
        rows = self._site_rows()
        if rows:
            parts.append(_table_html(["size", "blocks", "site"], rows, {0, 1}))
        return "".join(parts) + "</div>"


def compile_statement(namespace: dict[str, Any], source: str, filename: str) -> Callable[[], None]:
    """A function whose body is `source`, with `namespace` as globals (timeit's way).

    Names of the notebook resolve; assignments stay local to the function, so that
    repeated calls measure the same work.
    """
    if not source.strip():
        raise UsageError("give a statement, e.g. %perfkit_time f(x)")
    code = "def perfkit_statement():\n" + textwrap.indent(source.rstrip() + "\npass", "    ")
    tree = ast.parse(code, filename)
    ast.increment_lineno(tree, -1)  # the statement's own lines keep their numbers
    local: dict[str, Any] = {}
    exec(compile(tree, filename, "exec"), namespace, local)
    return local["perfkit_statement"]


def _profile_path(directory: Path, statement: str) -> Path:
    from perfkit.rundir import new_run_id

    slug = re.sub(r"[^A-Za-z0-9_]+", "_", statement.strip().splitlines()[0])[:40].strip("_")
    directory.mkdir(parents=True, exist_ok=True)
    return directory / f"{new_run_id()}-{slug or 'statement'}.prof"


def _icicle(
    profile: Profile, png_path: Path, statement: str
) -> tuple[bytes | None, Path | None, str]:
    """The icicle chart of `perfkit.render.icicle` as PNG bytes, also saved beside the profile."""
    import io

    from perfkit.render.icicle import icicle_figure

    first = statement.strip().splitlines()[0] if statement.strip() else "statement"
    label = first if len(first) <= 60 else first[:57] + "..."
    title = f"{label}: {format_seconds(profile.seconds_per_call)} per call under cProfile"
    try:
        figure = icicle_figure(profile, title=title)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    except Exception as exc:  # a picture must not lose the table and the saved profile
        return None, None, f"{type(exc).__name__}: {exc}"
    png = buffer.getvalue()
    png_path.write_bytes(png)
    return png, png_path, ""


def _int_option(opts: Any, name: str, default: int) -> int:
    value = opts.get(name, default)
    try:
        number = int(value)
    except ValueError:
        raise UsageError(f"-{name} expects a whole number, got {value!r}") from None
    if number < 1:
        raise UsageError(f"-{name} must be at least 1, got {number}")
    return number


@magics_class
class PerfkitMagics(Magics):
    """``%perfkit_time``, ``%perfkit_profile``/``%%perfkit_profile`` and ``%perfkit_memory``."""

    def _statement(self, line_rest: str, cell: str | None) -> str:
        return self.shell.transform_cell(cell if cell is not None else line_rest)

    @line_cell_magic
    def perfkit_time(self, line: str, cell: str | None = None) -> TimeReport | None:
        """Time a statement: calibrated loops, groups of samples, median with its CI.

        %perfkit_time [-g GROUPS] [-n SAMPLES] [-q] [-o] STATEMENT
        %%perfkit_time [-g GROUPS] [-n SAMPLES] [-q] [-o] [SETUP]   (the cell is timed)

        -g: groups (virtual workers, default 8); -n: samples per group (default 5);
        -q: quick, about a quarter of the time; -o: also return the report.
        In cell mode the rest of the line is run once first, as setup.
        """
        from perfkit.interactive.inprocess import quick, time_in_process

        opts, rest = self.parse_options(line, "g:n:qo", posix=False, strict=False)
        plan = quick() if "q" in opts else DEFAULT_IN_PROCESS
        plan = replace(
            plan,
            groups=_int_option(opts, "g", plan.groups),
            samples=_int_option(opts, "n", plan.samples),
        )
        plan = replace(plan, min_groups=min(plan.min_groups, plan.groups))
        if cell is not None and rest.strip():
            self.shell.run_cell(rest, store_history=False)
        source = self._statement(rest, cell)
        body = compile_statement(self.shell.user_ns, source, "<perfkit_time>")
        report = TimeReport(source.strip(), time_in_process(body, plan))
        display(report)
        return report if "o" in opts else None

    @line_cell_magic
    def perfkit_profile(self, line: str, cell: str | None = None) -> ProfileReport | None:
        """Profile a statement with cProfile: top functions, icicle chart, a saved .prof.

        %perfkit_profile [-n TOP] [-s tottime|cumtime] [-d DIR] [-t SECONDS] [-1] [-o] STATEMENT
        %%perfkit_profile [options]   (the cell is profiled)

        Like `perfkit run --profile`: one warm-up call, then as many calls as last
        SECONDS (default 0.2) under the profiler; times are per call. -1 profiles one
        call only, run in the notebook's namespace (its assignments stay), for slow or
        side-effecting code. The .prof goes to DIR (default ./perfkit-profiles);
        open it with the printed snakeviz command.
        """
        from perfkit.analysis.profiles import load_profile
        from perfkit.collect.profiling import profile as profile_pass

        opts, rest = self.parse_options(line, "n:s:d:t:1o", posix=False, strict=False)
        top = _int_option(opts, "n", TOP_FUNCTIONS)
        sort = opts.get("s", "tottime")
        if sort not in SORT_KEYS:
            raise UsageError(f"-s {sort!r}: sort by one of {', '.join(SORT_KEYS)}")
        try:
            min_seconds = float(opts.get("t", DEFAULT_PLAN.profile_min_seconds))
        except ValueError:
            raise UsageError(f"-t expects seconds, got {opts['t']!r}") from None
        source = self._statement(rest, cell)
        path = _profile_path(Path(opts.get("d", DEFAULT_PROFILE_DIR)), source)
        if "1" in opts:
            if not source.strip():
                raise UsageError("give a statement, e.g. %perfkit_profile f(x)")
            code = compile(source, "<perfkit_profile>", "exec")
            profiler = cProfile.Profile()
            namespace = self.shell.user_ns
            started = time.perf_counter()
            profiler.runctx(code, namespace, namespace)
            seconds = time.perf_counter() - started
            profiler.dump_stats(str(path))
            calls = 1
        else:
            body = compile_statement(self.shell.user_ns, source, "<perfkit_profile>")
            done = profile_pass(body, {"profile_min_seconds": min_seconds, "prof_path": str(path)})
            calls, seconds = int(done["calls"]), float(done["seconds"])
        profile = load_profile(path, root=os.getcwd(), calls=calls)
        png, png_path, error = _icicle(profile, path.with_suffix(".png"), source)
        report = ProfileReport(
            source.strip(), profile, path, seconds, png, png_path, error, top, sort
        )
        display(report)
        return report if "o" in opts else None

    @line_magic
    def perfkit_memory(self, line: str) -> MemoryReport | None:
        """Peak memory and growth per call of a statement called repeatedly.

        %perfkit_memory [-n CALLS] [-o] STATEMENT

        The memory pass of `perfkit run --memory`, in this process: peak RSS while
        the statement runs a few times, then CALLS traced calls (default 10) whose
        retained Python memory gives the growth per call with its CI and leak verdict.
        "peak +X" is what the calls add above the kernel's memory before them.
        """
        from perfkit.interactive.inprocess import memory_in_process

        opts, rest = self.parse_options(line, "n:o", posix=False, strict=False)
        plan = replace(
            DEFAULT_IN_PROCESS, memory_calls=_int_option(opts, "n", DEFAULT_IN_PROCESS.memory_calls)
        )
        source = self._statement(rest, None)
        body = compile_statement(self.shell.user_ns, source, "<perfkit_memory>")
        result = memory_in_process(body, plan)
        report = MemoryReport(source.strip(), result, list(result.sites))
        display(report)
        return report if "o" in opts else None


def register(ipython: Any) -> None:
    """Register the magics with an IPython shell (called by ``%load_ext perfkit``)."""
    ipython.register_magics(PerfkitMagics)
