"""perfkit bisect: from "slower somewhere between these commits" to the commit and the function.

Rooms: `decide` (the pure rules: does good vs bad differ, is a candidate good or bad, how
many more rounds), `records` (typed results and their JSON), `state` (the cache of
measured comparisons that makes a re-run continue), `measure` (one comparison of two
commits as interleaved perfkit runs), `search` (the bisection itself). The report is the
report room's (`perfkit.report.bisect`); the command is `perfkit.commands.bisect`.
"""

from __future__ import annotations

from perfkit.bisect.records import BisectResult, CommitRef, Estimate, Step
from perfkit.bisect.search import BisectOptions, bisect

__all__ = ["BisectOptions", "BisectResult", "CommitRef", "Estimate", "Step", "bisect"]
