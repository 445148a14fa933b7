"""`perfkit.body`: a suite's benchmark body run outside perfkit, teardown included."""

from __future__ import annotations

import timeit
from pathlib import Path

import pytest
from conftest import SUITES

import perfkit
from perfkit.collect.suite import load_suite
from perfkit.errors import SuiteError


def test_body_of_a_yielding_benchmark_times_with_timeit_and_tears_down(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "teardown.txt"
    monkeypatch.setenv("PERFKIT_TEARDOWN_MARKER", str(marker))
    suite = load_suite(str(SUITES / "basic_suite.py"))
    with perfkit.body(suite.with_teardown) as call:
        assert call() == list(range(1000))
        assert timeit.timeit(call, number=5) > 0
        assert not marker.exists()  # teardown waits for the end of the block
    assert marker.read_text() == "teardown\n"


def test_body_takes_params_and_tears_down_when_the_block_raises(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    suite = load_suite(str(SUITES / "basic_suite.py"))
    with perfkit.body(suite.sum_range, n=10) as call:
        assert call() == 45
    with perfkit.body(suite.sum_range, n=12345) as call:  # values beyond the declared ones
        assert call() == sum(range(12345))
    marker = tmp_path / "teardown.txt"
    monkeypatch.setenv("PERFKIT_TEARDOWN_MARKER", str(marker))
    with pytest.raises(ZeroDivisionError), perfkit.body(suite.with_teardown):
        1 / 0  # noqa: B018
    assert marker.read_text() == "teardown\n"


def test_body_of_something_else_is_one_clear_error() -> None:
    with pytest.raises(SuiteError, match=r"decorated with @perfkit\.benchmark"), perfkit.body(len):
        pass
