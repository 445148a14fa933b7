"""The bundled demo's suite: the seed's review scenarios over trackmatch (baseline or current).

It runs inside perfkit workers with one version's directory first on sys.path, so that
``import trackmatch`` picks that target's version. Budgets live in perfkit.toml beside it.
Every benchmark that searches starts its own catalogue server and stops it in its teardown.
The UI benchmarks drive trackmatch's Qt results window offscreen (perfkit.demo.ui_driver):
each call ends when the table has painted what the action changed, not when a call returns.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import os
import pickle
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import perfkit
from perfkit.demo import BASELINE_DIR, latency_seconds
from perfkit.demo.catalogue_server import CatalogueServer
from perfkit.demo.datagen import DemoData, prepare, scratch_dir
from perfkit.errors import SuiteError
from perfkit.monitor import BODY_TIMER, timer

try:
    from trackmatch import export, rekordbox, service
except ModuleNotFoundError as exc:
    if exc.name != "trackmatch":
        raise
    raise SuiteError(
        f"the demo suite needs a target with trackmatch, e.g. --target baseline={BASELINE_DIR}"
    ) from None

FILTER_TEXT = "muller"  # what a DJ types in the results view's search box
FILTER_MIN_SCORE = 80.0
SEASON_ROWS = 2_000  # the results window opened on a month of results
PLAYLIST_ROWS = 100  # one playlist's results: the demo's largest playlist


@cache
def _data() -> DemoData:
    return prepare()


@contextmanager
def _catalogue() -> Iterator[str]:
    """A catalogue server for one benchmark; yields its base URL."""
    with CatalogueServer(_data().catalogue, latency_seconds=latency_seconds()) as server:
        yield server.url


def _scratch() -> tempfile.TemporaryDirectory[str]:
    """A temporary directory that `perfkit demo` removes even if this worker is killed."""
    parent = scratch_dir(_data().directory)
    parent.mkdir(parents=True, exist_ok=True)
    return tempfile.TemporaryDirectory(prefix="trackmatch-", dir=parent)


def _timed(body: Callable[[], Any]) -> Callable[[], Any]:
    """The body, also timed into the monitor's body timer: exact calls and network share.

    It costs about a microsecond per call, so only bodies of a millisecond or more use it.
    """
    body_timer = timer(BODY_TIMER)

    def timed() -> Any:
        with body_timer:
            return body()

    return timed


@cache
def _result_rows() -> list[dict[str, str]]:
    """The results history as the results window gets rows (csv.DictReader's dicts)."""
    with _data().history.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _playlist(n: int) -> list[Any]:
    return rekordbox.read_library(_data().library)[f"Set {n}"]


def _match(url: str, tracks: list[Any]) -> list[Any]:
    """One run of the tool: a fresh session (connection, cache) over some tracks."""
    with service.Matcher(url) as matcher:
        return matcher.process_playlist(tracks)


@perfkit.benchmark
def process_track() -> Iterator[Callable[[], Any]]:
    """One track from query variants to best match, in a fresh session."""
    track = _playlist(10)[0]
    with _catalogue() as url:

        def body() -> Any:
            with service.Matcher(url) as matcher:
                return matcher.process_track(track)

        yield _timed(body)


@perfkit.benchmark(params={"n": [10, 50, 100]})
def process_playlist(n: int) -> Iterator[Callable[[], Any]]:
    """A playlist of n tracks, in a fresh session."""
    tracks = _playlist(n)
    with _catalogue() as url:
        yield _timed(lambda: _match(url, tracks))


def _found(n: int) -> list[Any]:
    """The match results of playlist "Set n", for the export benchmarks' setup.

    Matching takes longer than the export it feeds and is not what export measures, so the
    results are kept beside the data, per version of trackmatch (its source's hash), and
    matched again only when that version or the data set changes.
    """
    source = hashlib.sha256()
    for path in sorted(Path(service.__file__).parent.glob("*.py")):
        source.update(path.name.encode() + b"\0" + path.read_bytes())
    source.update(_data().marker.read_bytes() + repr(sys.version_info[:2]).encode())
    kept = _data().directory / "found" / f"set-{n}-{source.hexdigest()[:16]}.pickle"
    try:
        return pickle.loads(kept.read_bytes())
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        pass
    with _catalogue() as url:
        found = _match(url, _playlist(n))
    kept.parent.mkdir(parents=True, exist_ok=True)
    tmp = kept.with_name(f".{kept.name}.{os.getpid()}.tmp")
    tmp.write_bytes(pickle.dumps(found))
    os.replace(tmp, kept)  # a worker beside us may write the same file: last one wins
    return found


@perfkit.benchmark(params={"n": [100]})
def export_csv(n: int) -> Iterator[Callable[[], Any]]:
    """The results of a playlist of n tracks written to CSV."""
    found = _found(n)
    with _scratch() as tmp:
        path = Path(tmp) / "results.csv"
        yield lambda: export.export_csv(found, path)


@perfkit.benchmark(params={"n": [100]})
def export_json(n: int) -> Iterator[Callable[[], Any]]:
    """The results of a playlist of n tracks written to JSON."""
    found = _found(n)
    with _scratch() as tmp:
        path = Path(tmp) / "results.json"
        yield lambda: export.export_json(found, path)


@perfkit.benchmark
def search_cache_miss() -> Iterator[Callable[[], Any]]:
    """One catalogue search that the cache does not have: over HTTP."""
    query = service.query_variants(_playlist(10)[0])[0]
    with _catalogue() as url, service.Matcher(url) as matcher:

        def body() -> Any:
            matcher.cache.clear()
            return matcher.search(query)

        yield _timed(body)


@perfkit.benchmark
def search_cache_hit() -> Iterator[Callable[[], Any]]:
    """The same search again: answered by the cache."""
    query = service.query_variants(_playlist(10)[0])[0]
    with _catalogue() as url, service.Matcher(url) as matcher:
        matcher.search(query)
        yield lambda: matcher.search(query)


@perfkit.benchmark
def filter_results() -> Callable[[], Any]:
    """The results view's search box over a season of results."""
    from trackmatch.results import filter_results, load_results  # pandas: only here

    frame = load_results(_data().history)
    return lambda: filter_results(frame, text=FILTER_TEXT, min_score=FILTER_MIN_SCORE)


@perfkit.benchmark
def load_results() -> Callable[[], Any]:
    """The results view opening an exported season of results."""
    from trackmatch.results import load_results

    path = _data().history
    return lambda: load_results(path)


@perfkit.benchmark(params={"n": [SEASON_ROWS]})
def load_ui(n: int) -> Callable[[], Any]:
    """The results window opened on n results, until its table has painted; then closed."""
    from trackmatch.ui import ResultsWindow

    from perfkit.demo import ui_driver

    ui_driver.application()
    rows = _result_rows()[:n]

    def body() -> None:
        window = ResultsWindow(rows)
        ui_driver.show(window)
        ui_driver.close(window)

    return body


@perfkit.benchmark(params={"n": [PLAYLIST_ROWS]})
def update_results_view(n: int) -> Iterator[Callable[[], Any]]:
    """The open window shows another playlist's n results, until the table has repainted."""
    from trackmatch.ui import ResultsWindow

    from perfkit.demo import ui_driver

    ui_driver.application()
    rows = _result_rows()
    playlists = itertools.cycle([rows[n : 2 * n], rows[:n]])  # the window opens on rows[:n]
    window = ResultsWindow(rows[:n])
    paints = ui_driver.show(window)

    def body() -> None:
        playlist = next(playlists)
        first_artist = playlist[0]["artist"]
        painted = paints.count
        window.show_results(playlist)
        paints.wait(
            painted,
            lambda: window.view.model().index(0, 0).data() == first_artist,
            "show the new playlist",
        )

    yield body
    ui_driver.close(window)


@perfkit.benchmark(params={"n": [SEASON_ROWS]})
def apply_filter(n: int) -> Iterator[Callable[[], Any]]:
    """The filter typed key by key over n results, until the table shows the matching rows."""
    from trackmatch.ui import ResultsWindow

    from perfkit.demo import ui_driver

    ui_driver.application()
    window = ResultsWindow(_result_rows()[:n])
    paints = ui_driver.show(window)
    painted = paints.count
    ui_driver.type_text(window.filter_box, FILTER_TEXT)
    expected = window.visible_rows()
    paints.wait(painted, what="show the filtered rows")
    if not 0 < expected < n:
        raise SuiteError(f"filter {FILTER_TEXT!r} kept {expected} of {n} rows")

    def body() -> None:
        painted = paints.count
        ui_driver.type_text(window.filter_box, FILTER_TEXT)  # replaces the same filter
        paints.wait(painted, lambda: window.visible_rows() == expected, "show the filtered rows")

    yield body
    ui_driver.close(window)
