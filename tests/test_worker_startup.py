"""What a worker process imports: the structure of its start-up, paid by every one of the
hundreds of workers a review starts (`python -m perfkit.selfbench startup` times it; no
timed assertion here). Each check runs in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import SUITES

import perfkit.rundir
from perfkit.collect.shipping import WORKER_MODULES
from perfkit.rundir.messages import WorkerRequest

# Each was imported by every worker once; none is needed to time a benchmark.
HEAVY = (
    "perfkit.rundir.writer",
    "perfkit.rundir.refs",
    "perfkit.rundir.schema",
    "perfkit.rundir.reader",
    "perfkit.config",
    "tempfile",
    "shutil",
    "secrets",
    "random",
    "csv",
    "hashlib",
    "traceback",
    "datetime",
    "typing",  # annotations only: the worker side sets TYPE_CHECKING = False itself
    "pandas",
)
OPTIONS = {"samples": 1, "warmups": 0, "min_sample_seconds": 1e-4, "worker_seconds": 0.1}


def _new_modules(code: str) -> list[str]:
    """Modules that `code` imported beyond the interpreter's own start-up."""
    script = (
        f"import json, sys\nat_start = set(sys.modules)\n{code}\n"
        "print(json.dumps(sorted(set(sys.modules) - at_start)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def _shipped() -> set[str]:
    names = set()
    for rel in WORKER_MODULES:
        parts = ["perfkit", *rel.removesuffix(".py").split("/")]
        names.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_a_timing_worker_imports_none_of_the_heavy_modules() -> None:
    """The worker's whole path: its import, a suite's ``import perfkit``, the suite, the
    timing pass, the reply (in-process `handle`, as `main` calls it)."""
    for mode in ("discover", "time"):
        request = WorkerRequest(
            mode=mode,
            suite=str(SUITES / "basic_suite.py"),
            name="sum_range",
            params="n=100",
            options=OPTIONS,
        )
        imported = _new_modules(
            "from perfkit.collect.worker import handle\n"
            "from perfkit.rundir.messages import WorkerRequest\n"
            f"reply = handle(WorkerRequest.from_json({request.to_json()!r}))\n"
            "assert reply.ok, reply.message"
        )
        assert [m for m in HEAVY if m in imported] == [], mode
        # What a worker imports of perfkit is shipped to foreign interpreters.
        assert {m for m in imported if m.startswith("perfkit.")} <= _shipped(), mode
        assert "perfkit.rundir.messages" in imported


def test_import_perfkit_from_a_suite_stays_small() -> None:
    imported = _new_modules("import perfkit\nperfkit.benchmark(lambda: None)")
    assert [m for m in HEAVY if m in imported] == []
    assert "perfkit.rundir.ids" in imported  # what the decorator needs, and only that


def test_rundir_loads_each_room_on_first_use_and_keeps_every_name() -> None:
    rooms = ("reader", "refs", "schema", "writer")
    for code in ("import perfkit.rundir", "from perfkit.rundir import case_id"):
        imported = _new_modules(code)
        assert [r for r in rooms if f"perfkit.rundir.{r}" in imported] == [], code
    for name in perfkit.rundir.__all__:
        assert getattr(perfkit.rundir, name) is not None
        assert name in dir(perfkit.rundir)
    assert perfkit.rundir.writer.RunWriter is perfkit.rundir.RunWriter
    assert perfkit.rundir.schema.CaseRecord is perfkit.rundir.messages.CaseRecord
    _new_modules("import perfkit.rundir as r\nassert r.refs.RUN_JSON == 'run.json'")


def test_a_memory_worker_leaves_ipython_out_but_a_suite_may_import_it() -> None:
    """memory_profiler imports IPython for its magics when it can (~40-70 ms a memory
    worker); the sampler hides it while memory_profiler loads, and only then."""
    request = WorkerRequest(
        mode="memory",
        suite=str(SUITES / "basic_suite.py"),
        name="sum_range",
        params="n=100",
        options={"memory_calls": 5, "memory_peak_calls": 1},
    )
    imported = _new_modules(
        "from perfkit.collect.worker import handle\n"
        "from perfkit.rundir.messages import WorkerRequest\n"
        f"reply = handle(WorkerRequest.from_json({request.to_json()!r}))\n"
        "assert reply.ok, reply.message\n"
        "assert reply.result['summary']['peak_rss_bytes'] > 0\n"
        "from perfkit.collect import rss\n"
        "assert rss.memory_usage is not None  # memory_profiler's sampler, not the fallback"
    )
    assert "memory_profiler" in imported and "psutil" in imported
    assert not [m for m in imported if m.split(".")[0] == "IPython"]
    _new_modules("import perfkit.collect.rss\nimport IPython.core.magic\nimport IPython")
