"""Declaring benchmarks: the `benchmark` decorator, its cases, and suite loading.

A suite is a Python file or importable module whose benchmarks are functions
decorated with `benchmark`. Loading a suite imports target code, so it happens
only inside a worker process, never in the parent.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import itertools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from perfkit.errors import SuiteError
from perfkit.rundir.ids import case_id, format_params, match_params
from perfkit.rundir.messages import CaseRecord
from perfkit.units import parse_bytes, parse_seconds

# typing is for the type checker only: importing it took ~3 ms of every worker's start-up.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


@dataclass(frozen=True)
class Case:
    """One benchmark with one combination of parameter values."""

    name: str
    params: dict[str, Any]
    budget_seconds: float | None = None
    memory_budget_bytes: int | None = None
    timeout_seconds: float | None = None

    @property
    def params_text(self) -> str:
        return format_params(self.params)

    @property
    def id(self) -> str:
        return case_id(self.name, self.params)

    def record(self) -> CaseRecord:
        """The case as run.json and the worker messages carry it."""
        return CaseRecord(
            id=self.id,
            name=self.name,
            params=self.params_text,
            budget_seconds=self.budget_seconds,
            memory_budget_bytes=self.memory_budget_bytes,
            timeout_seconds=self.timeout_seconds,
        )


@dataclass
class Benchmark:
    """A decorated benchmark function and its declared options."""

    func: Callable[..., Any]
    params: dict[str, list[Any]] = field(default_factory=dict)
    budget_seconds: float | None = None
    memory_budget_bytes: int | None = None
    timeout_seconds: float | None = None
    name: str = ""

    def __post_init__(self) -> None:
        self.name = self.name or self.func.__name__

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.func(*args, **kwargs)

    def cases(self) -> list[Case]:
        keys = list(self.params)
        combos = itertools.product(*(self.params[key] for key in keys)) if keys else [()]
        cases: dict[str, Case] = {}
        for values in combos:
            case = Case(
                name=self.name,
                params=dict(zip(keys, values)),  # product: same length
                budget_seconds=self.budget_seconds,
                memory_budget_bytes=self.memory_budget_bytes,
                timeout_seconds=self.timeout_seconds,
            )
            if case.id in cases:  # e.g. two objects that print alike: one would vanish
                raise SuiteError(
                    f"benchmark {self.name}: params {cases[case.id].params!r} and "
                    f"{case.params!r} give the same id {case.id}; use values that print apart"
                )
            cases[case.id] = case
        return list(cases.values())


def benchmark(
    func: Callable[..., Any] | None = None,
    *,
    params: dict[str, list[Any]] | None = None,
    budget: str | float | None = None,
    memory_budget: str | int | None = None,
    timeout: str | float | None = None,
    name: str | None = None,
) -> Any:
    """Declare a benchmark.

    The decorated function does its (untimed) setup and returns the callable to
    time, or yields it when a teardown follows the ``yield``. ``params`` is a
    dict of lists; every combination becomes a case ``name[k=v,...]``.
    """

    def wrap(f: Callable[..., Any]) -> Benchmark:
        for key, values in (params or {}).items():
            if not isinstance(values, (list, tuple)) or not values:
                raise SuiteError(
                    f"benchmark {f.__name__}: params[{key!r}] must be a non-empty list"
                )
        return Benchmark(
            func=f,
            params={key: list(values) for key, values in (params or {}).items()},
            budget_seconds=parse_seconds(budget),
            memory_budget_bytes=parse_bytes(memory_budget),
            timeout_seconds=parse_seconds(timeout),
            name=name or "",
        )

    return wrap(func) if func is not None else wrap


def _user_frame(exc: BaseException, path: str | None) -> str:
    import traceback  # a suite that fails to import is rare; every worker start is not

    frames = traceback.extract_tb(exc.__traceback__)
    for frame in reversed(frames):
        if path is None or Path(frame.filename).resolve() == Path(path).resolve():
            return f"{frame.filename}:{frame.lineno}"
    return ""


def load_suite(spec: str) -> Any:
    """Import a suite given as a file path or a module name."""
    path = Path(spec)
    if spec.endswith(".py") or path.exists():
        if not path.is_file():
            raise SuiteError(f"suite not found: {spec}")
        module_name = f"perfkit_suite_{abs(hash(str(path.resolve())))}"
        module_spec = importlib.util.spec_from_file_location(module_name, path)
        if module_spec is None or module_spec.loader is None:
            raise SuiteError(f"suite {spec} is not a Python file")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[module_name] = module
        try:
            module_spec.loader.exec_module(module)
        except SyntaxError as exc:
            raise SuiteError(
                f"suite {exc.filename}:{exc.lineno}: syntax error: {exc.msg}"
            ) from None
        except Exception as exc:
            where = _user_frame(exc, str(path))
            raise SuiteError(
                f"suite {spec} failed to import at {where}: {type(exc).__name__}: {exc}"
            ) from None
        return module
    try:
        return importlib.import_module(spec)
    except SyntaxError as exc:
        raise SuiteError(f"suite {exc.filename}:{exc.lineno}: syntax error: {exc.msg}") from None
    except ModuleNotFoundError as exc:
        if exc.name and spec.startswith(exc.name):
            raise SuiteError(
                f"suite not found: {spec} (neither a file nor an importable module)"
            ) from None
        raise SuiteError(f"suite {spec} failed to import: {exc}") from None
    except Exception as exc:
        raise SuiteError(f"suite {spec} failed to import: {type(exc).__name__}: {exc}") from None


def collect_cases(module: Any) -> list[Case]:
    """All cases of all benchmarks defined in a suite module, in definition order."""
    found = [obj for obj in vars(module).values() if isinstance(obj, Benchmark)]
    found.sort(key=lambda b: getattr(getattr(b.func, "__code__", None), "co_firstlineno", 0))
    return [case for bench in found for case in bench.cases()]


def find_benchmark(module: Any, name: str) -> Benchmark:
    for obj in vars(module).values():
        if isinstance(obj, Benchmark) and obj.name == name:
            return obj
    raise SuiteError(f"benchmark {name!r} not found in suite")


@dataclass
class Instance:
    """A set-up benchmark case: the body to time and its teardown."""

    body: Callable[[], Any]
    _gen: Iterator[Any] | None = None

    def teardown(self) -> None:
        if self._gen is None:
            return
        try:
            next(self._gen)
        except StopIteration:
            return
        finally:
            self._gen = None


def instantiate(bench: Benchmark, params: dict[str, Any]) -> Instance:
    """Run a benchmark's setup and return its body (and teardown)."""
    result = bench.func(**params)
    if inspect.isgenerator(result):
        body = next(result)
        instance = Instance(body=body, _gen=result)
    else:
        instance = Instance(body=result)
    if not callable(instance.body):
        instance.teardown()
        raise SuiteError(
            f"benchmark {bench.name} must return or yield a callable, got {type(instance.body).__name__}"
        )
    return instance


@contextmanager
def body(bench: Benchmark, **params: Any) -> Iterator[Callable[[], Any]]:
    """Run a benchmark body outside perfkit (e.g. to cross-check with `timeit`).

    ``with perfkit.body(process_playlist, n=100) as call: timeit.timeit(call, number=10)``
    runs the benchmark's setup with these parameters (any values, declared or not),
    gives the callable perfkit would time, and runs the teardown when the block ends,
    also when it raises.
    """
    if not isinstance(bench, Benchmark):
        raise SuiteError(
            f"perfkit.body needs a function decorated with @perfkit.benchmark, "
            f"got {type(bench).__name__}"
        )
    instance = instantiate(bench, params)
    try:
        yield instance.body
    finally:
        instance.teardown()


def parse_params_text(text: str, declared: dict[str, list[Any]]) -> dict[str, Any]:
    """Map a case's params text back to the declared parameter values (keeps their types)."""
    if not text:
        return {}
    try:
        return match_params(text, declared)
    except ValueError as exc:
        raise SuiteError(str(exc)) from None
