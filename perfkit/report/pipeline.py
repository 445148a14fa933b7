"""The notebook pipeline behind `perfkit report`: check parameters, run the packaged
notebooks in order through papermill, export HTML, and say which cell failed.

Owns kernels, paths and progress; the notebooks do the analysis and the rendering
(through perfkit.report.views and .render). Nothing here computes statistics.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perfkit.config import DEFAULT_REPORTS_DIR
from perfkit.errors import PerfkitError
from perfkit.report.artifacts import (
    COMPARISON_JSON,
    DATA_DIR,
    FIGURES_DIR,
    MANIFEST,
    NOTEBOOKS_DIR,
)
from perfkit.report.data import open_report
from perfkit.report.document import HTML_NAME, MARKDOWN_NAME
from perfkit.report.params import check_parameters, declared_parameters, for_notebook
from perfkit.rundir import DEFAULT_RUNS_DIR

PACKAGE_NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
KERNEL_NAME = "python3"
KERNEL_ARGUMENTS = ["--HistoryManager.enabled=False"]
# A kernel imports these while it boots, for all the notebooks it will run.
WARM_IMPORTS = "import perfkit.report.views, perfkit.report.document"
# Notebooks run side by side on this many kernels (lanes); the report notebook runs last.
LANES = 2
KERNEL_READY_SECONDS = 120.0
RESET_CODE = "get_ipython().reset(new_session=True)"
# The kernel's own stderr (transport warnings such as "TCP without encryption", shutdown
# noise, a crash's last words) goes to this file under OUT/notebooks, not to the user.
KERNEL_LOG = "kernels.log"
QUIET_ENVIRONMENT = {"PYDEVD_DISABLE_FILE_VALIDATION": "1", "JUPYTER_PLATFORM_DIRS": "1"}


class NotebookFailed(Exception):
    """A notebook cell raised: names the notebook and cell; the executed notebook is kept.

    `cell` is the 1-based position in the source notebook (what its author edits);
    `exec_count` is the ``In [n]`` prompt shown in the kept, executed notebook.
    """

    def __init__(
        self, notebook: str, cell: int, exec_count: int | None, source: str, error: str, kept: Path
    ) -> None:
        self.notebook, self.cell, self.exec_count = notebook, cell, exec_count
        self.source, self.error, self.kept = source, error, kept
        prompt = f" (In [{exec_count}])" if exec_count else ""
        first = source.strip().splitlines()[0][:60] if source.strip() else ""
        code = f" `{first}`" if first else ""
        where = f" in cell {cell}{prompt}{code}" if cell else ""
        super().__init__(
            f"notebook {notebook} failed{where}: {error} (executed notebook kept: {kept})"
        )


# Views over many runs, opened on their own (papermill, Jupyter), not part of one run's report.
VIEW_NOTEBOOKS = ("06_trends.ipynb",)


def packaged_notebooks(directory: Path = PACKAGE_NOTEBOOKS) -> list[Path]:
    """The pipeline's notebooks in run order (their names start with the order)."""
    found = [p for p in sorted(directory.glob("[0-9]*.ipynb")) if p.name not in VIEW_NOTEBOOKS]
    if not found:
        raise PerfkitError(f"{directory}: no notebooks (is perfkit installed with its data?)")
    return found


@dataclass(frozen=True)
class Plan:
    """What will run, decided and checked before any kernel starts."""

    out_dir: Path
    notebooks: list[Path]
    parameters: dict[str, dict[str, Any]]  # notebook name -> its parameters
    title: str


@dataclass
class PipelineResult:
    out_dir: Path
    markdown: Path
    html: Path
    executed: list[Path] = field(default_factory=list)
    exports: list[Path] = field(default_factory=list)
    seconds: float = 0.0


def plan_report(
    run: str,
    current: str | None = None,
    *,
    out_dir: str | Path = DEFAULT_REPORTS_DIR,
    assignments: list[str] | None = None,
    runs_dir: str | Path = DEFAULT_RUNS_DIR,
    notebooks: list[Path] | None = None,
) -> Plan:
    """Check parameters and references; raise `PerfkitError` (exit 2) before anything runs."""
    notebooks = notebooks or packaged_notebooks()
    declared = {nb.name: declared_parameters(nb) for nb in notebooks}
    values = check_parameters(assignments or [], declared)
    out = Path(out_dir).resolve()
    rep = open_report(
        run,
        current,
        runs_dir=Path(runs_dir).resolve(),
        out_dir=out,
        threshold=values.get("threshold"),
    )
    if values.get("benchmark") is not None:
        rep.focus_benchmark(values["benchmark"])
    sides = [f"{side.run.path.resolve()}:{side.label}" for side in rep.sides]
    fixed = {
        "run": sides[0],
        "current": sides[1] if len(sides) > 1 else None,
        "baseline_label": None,
        "current_label": None,
        "runs_dir": str(Path(runs_dir).resolve()),
        "out_dir": str(out),
    }
    parameters = {nb.name: for_notebook({**fixed, **values}, declared[nb.name]) for nb in notebooks}
    return Plan(out_dir=out, notebooks=notebooks, parameters=parameters, title=rep.title)


def clean_outputs(out_dir: Path) -> None:
    """Remove what an earlier report wrote here (by pattern only: never a whole directory)."""
    patterns = {
        FIGURES_DIR: ("*.png", "*.svg"),
        NOTEBOOKS_DIR: ("*.ipynb", "*.html", KERNEL_LOG),
        DATA_DIR: (
            MANIFEST,
            *(f"{name}.csv" for name in ("timing", "comparison", "budgets", "scaling", "memory")),
            "profile_diff_*.csv",
        ),
        ".": (MARKDOWN_NAME, HTML_NAME, COMPARISON_JSON),
    }
    for sub, globs in patterns.items():
        for pattern in globs:
            for path in (out_dir / sub).glob(pattern):
                if path.is_file():
                    path.unlink()


def _kernel_manager_class(log: Path | None = None) -> type:
    """A kernel manager that runs this very interpreter, whatever kernelspecs say, with
    the kernel's stderr appended to `log`.

    A user-level ``python3`` kernelspec may point at another Python without perfkit;
    the report must run where perfkit is installed.
    """
    from jupyter_client import AsyncKernelManager
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager

    class ThisInterpreter(KernelSpecManager):
        def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
            return KernelSpec(
                argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                display_name="Python 3 (ipykernel)",
                language="python",
                env=dict(QUIET_ENVIRONMENT),
            )

    class Manager(AsyncKernelManager):
        def _kernel_spec_manager_default(self) -> KernelSpecManager:
            return ThisInterpreter()

        async def start_kernel(self, **kw: Any) -> None:
            if log is None:
                return await super().start_kernel(**kw)
            with open(log, "ab") as handle:  # the child keeps its own copy of the descriptor
                kw.setdefault("stderr", handle)
                return await super().start_kernel(**kw)

    return Manager


@contextmanager
def quiet() -> Iterator[None]:
    """Hide papermill's, nbclient's and the kernel's chatter; errors still surface."""
    saved_env = {k: os.environ.get(k) for k in QUIET_ENVIRONMENT}
    os.environ.update(QUIET_ENVIRONMENT)
    loggers = [logging.getLogger(n) for n in ("papermill", "traitlets", "nbclient", "asyncio")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def export_html(notebook: Path) -> Path:
    """The executed notebook as HTML without input cells, next to it."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True
    )
    body, _ = exporter.from_filename(str(notebook))
    out = notebook.with_suffix(".html")
    out.write_text(body, encoding="utf-8")
    return out


class Kernels:
    """Long-lived kernels: one per lane of notebooks, launched with the warm imports.

    papermill runs a notebook on a kernel it is given (``km``) exactly as on one it
    starts, and leaves it running: a lane runs its notebooks one after another on one
    kernel, whose namespace is reset between them (imports stay loaded), so a kernel boots
    once per lane instead of once per notebook. A kernel is used in the thread that
    started it (its event loop lives there).
    """

    def __init__(self, cwd: Path, log: Path) -> None:
        self.cwd, self.log = cwd, log

    def launch(self) -> Any:
        from jupyter_core.utils import run_sync

        manager = _kernel_manager_class(self.log)(kernel_name=KERNEL_NAME)
        run_sync(manager.start_kernel)(
            cwd=str(self.cwd),
            extra_arguments=[*KERNEL_ARGUMENTS, f"--IPKernelApp.exec_lines={WARM_IMPORTS}"],
        )
        return manager

    @staticmethod
    def reset(manager: Any) -> None:
        """A fresh namespace and ``In [1]`` for the next notebook; imported modules stay."""
        from jupyter_core.utils import run_sync

        async def reset() -> None:
            client = manager.client()
            client.start_channels()
            try:
                await client.wait_for_ready(timeout=KERNEL_READY_SECONDS)
                reply = await client.execute_interactive(
                    RESET_CODE, store_history=False, timeout=KERNEL_READY_SECONDS
                )
            finally:
                client.stop_channels()
            if reply["content"]["status"] != "ok":
                raise RuntimeError(f"kernel reset failed: {reply['content'].get('evalue', '')}")

        run_sync(reset)()

    @staticmethod
    def shutdown(manager: Any) -> None:
        from jupyter_core.utils import run_sync

        if manager.has_kernel:
            run_sync(manager.shutdown_kernel)(now=True)


def execute(
    source: Path, executed: Path, parameters: dict[str, Any], manager: Any | None = None
) -> None:
    """Run one notebook through papermill (on `manager`'s kernel when given); a failing
    cell raises `NotebookFailed`."""
    import papermill as pm
    from nbclient.exceptions import DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    try:
        pm.execute_notebook(
            str(source),
            str(executed),
            parameters=parameters,
            kernel_name=KERNEL_NAME,
            progress_bar=False,
            log_output=False,
            request_save_on_cell_execute=True,  # the report notebook links itself
            # A given kernel already runs in the notebook's directory; papermill's own cwd
            # would os.chdir the whole process, which lanes side by side must not do.
            cwd=None if manager is not None else str(executed.parent),
            kernel_manager_class=_kernel_manager_class(executed.parent / KERNEL_LOG),
            extra_arguments=KERNEL_ARGUMENTS,
            **({"km": manager} if manager is not None else {}),
        )
    except DeadKernelError as exc:
        reason = (str(exc).strip().splitlines() or ["kernel died"])[0]
        raise NotebookFailed(
            source.name, 0, None, "", f"the kernel died ({reason}); see {KERNEL_LOG}", executed
        ) from None
    except PapermillExecutionError as exc:
        error = (f"{exc.ename}: {exc.evalue}".strip().splitlines() or [exc.ename])[0]
        # papermill counts the cell it injected after the parameters cell; the author doesn't
        cell = exc.cell_index if exc.cell_index > _parameters_index(source) else exc.cell_index + 1
        raise NotebookFailed(
            source.name, cell, exc.exec_count, exc.source, error, executed
        ) from None


def _parameters_index(notebook: Path) -> int:
    import nbformat

    cells = nbformat.read(notebook, as_version=4).cells
    return next(
        (i for i, c in enumerate(cells) if "parameters" in c.metadata.get("tags", [])), len(cells)
    )


def run_plan(
    plan: Plan,
    progress: Callable[[str], None] | None = None,
    before_last: Callable[[], None] | None = None,
) -> PipelineResult:
    """Execute the planned notebooks, then export each as HTML.

    The last notebook (the report) reads what the others wrote; the others only read the
    run. They run in order on `LANES` kernels side by side, each lane taking the next
    notebook when its kernel is free; the lane that finds nothing left last runs the
    report notebook, after `before_last` returns (what it reads beyond the run, such as
    the history index, is then written). A failing notebook raises `NotebookFailed` and no
    new one starts.
    """
    say = progress or (lambda _message: None)
    started = time.perf_counter()
    notebooks_out = plan.out_dir / NOTEBOOKS_DIR
    notebooks_out.mkdir(parents=True, exist_ok=True)
    clean_outputs(plan.out_dir)
    result = PipelineResult(plan.out_dir, plan.out_dir / MARKDOWN_NAME, plan.out_dir / HTML_NAME)
    total = len(plan.notebooks)
    *views, last = plan.notebooks
    kernels = Kernels(notebooks_out, notebooks_out / KERNEL_LOG)
    waiting = list(views)
    lanes_left = max(1, min(LANES, len(views)))
    state = threading.Lock()
    failed = threading.Event()
    exports: dict[Path, Future[Path]] = {}

    def run_one(source: Path, manager: Any, reused: bool) -> None:
        executed = notebooks_out / source.name
        t0 = time.perf_counter()
        index = plan.notebooks.index(source) + 1
        say(f"[{index}/{total}] {source.stem} …")
        if reused:
            kernels.reset(manager)
        execute(source, executed, plan.parameters[source.name], manager)
        exports[source] = export_pool.submit(export_html, executed)
        say(f"[{index}/{total}] {source.stem} done in {time.perf_counter() - t0:.1f} s")

    def lane() -> None:
        nonlocal lanes_left
        manager = None
        try:
            while not failed.is_set():
                with state:
                    if waiting:
                        source = waiting.pop(0)
                    else:
                        lanes_left -= 1
                        if lanes_left:
                            return
                        source = last  # the last lane out: every other notebook is done
                reused = manager is not None
                manager = manager or kernels.launch()
                if source is last and before_last is not None:
                    before_last()
                run_one(source, manager, reused)
                if source is last:
                    return
        except BaseException:
            failed.set()
            raise
        finally:
            if manager is not None:
                kernels.shutdown(manager)

    n_lanes = lanes_left
    with (
        quiet(),
        ThreadPoolExecutor(max_workers=1) as export_pool,
        ThreadPoolExecutor(max_workers=n_lanes) as lane_pool,
    ):
        running = [lane_pool.submit(lane) for _ in range(n_lanes)]
        for future in running:
            future.exception()  # wait for every lane before raising the first failure
        for future in running:
            future.result()
        result.executed = [notebooks_out / nb.name for nb in plan.notebooks]
        result.exports = [exports[nb].result() for nb in plan.notebooks]
    for path in (result.markdown, result.html):
        if not path.is_file():
            raise PerfkitError(f"{path}: not written (the report notebook did not render it)")
    result.seconds = time.perf_counter() - started
    return result
