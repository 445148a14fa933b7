"""Culprits: which function of the target's own code made a scenario slower or faster, and how.

Reads `Profile`s (several profiling workers per side) and returns a `CulpritReport`: own-code
functions ranked by the change of scenario time they account for, each with the call-count
changes under it as evidence (structure first: call counts are exact, timings are not) and a
bootstrap CI over profiling workers. It never loads files and never formats tables or
pictures; sentences live in `perfkit.analysis.culprit_words`.

Attribution, per scenario call, for an own-code function F present on both sides:
- its own work: F's own time plus the library calls it makes (library subtrees, minus own-code
  callbacks under them), changed per F call, times F's current call count;
- its calls into own code: every change of the number of calls F makes to another own
  function G, times G's inclusive time per call in the baseline (G itself is unchanged: F
  calls it more or less often, so F is what changed).
A function new in current is charged its whole time; a gone one its whole baseline time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from perfkit.analysis.attribution import (
    Index,
    Model,
    Side,
    bootstrap_weights,
    edge_delta,
    means,
    per,
    side_matrices,
    worker_rows,
)
from perfkit.analysis.profiles import STDLIB, Profile
from perfkit.analysis.qualnames import defines, qualified_name

COUNT_TOLERANCE = 0.005  # relative change of a call count below this is worker jitter
DEFAULT_RESAMPLES = 2000
MAX_EDGES = 8  # call sites kept as evidence per culprit


def is_library(file: str) -> bool:
    """Site-packages, standard library, built-ins (``~``) and ``<frozen ...>``-like frames."""
    return file == "~" or file.startswith(("<", STDLIB))


def is_own_code(file: str, rooted: bool) -> bool:
    """A frame of the target's own code: relative to the root when a root was given.

    Without a root every non-library frame counts as own code (a foreign profile).
    Absolute paths outside the root (the suite, perfkit's harness) are neither.
    """
    if is_library(file):
        return False
    if rooted:
        return not (file.startswith("/") or (len(file) > 2 and file[1] == ":"))
    return True


@dataclass(frozen=True)
class EdgeChange:
    """One call site: `caller` calls `callee`, counted per scenario call on each side."""

    callee: str  # pstats key of the callee (current side when present)
    function: str
    file: str
    library: bool
    baseline_calls: float  # per scenario call
    current_calls: float
    baseline_per_caller_call: float
    current_per_caller_call: float
    cost_seconds: float  # change of scenario time this call site accounts for

    @property
    def status(self) -> str:
        """new | gone | more | fewer | same, judged per call of the caller."""
        if self.baseline_calls == 0:
            return "new"
        if self.current_calls == 0:
            return "gone"
        b, c = self.baseline_per_caller_call, self.current_per_caller_call
        if _same_count(b, c):
            return "same"
        return "more" if c > b else "fewer"


@dataclass(frozen=True)
class Culprit:
    """An own-code function and the change of scenario time (per call) it accounts for."""

    key: str
    function: str
    file: str
    line: int
    status: str  # changed | new | gone (code) | called | uncalled (run on one side only)
    delta_seconds: float  # per scenario call, point estimate
    ci_low: float
    ci_high: float
    own_delta_seconds: float  # of which: its own lines (own time), per scenario call
    baseline_seconds: float  # inclusive time per scenario call
    current_seconds: float
    baseline_calls: float  # calls of this function per scenario call
    current_calls: float
    edges: tuple[EdgeChange, ...] = ()  # changed call sites, biggest cost first
    qualname: str = ""  # Class.method when the target's source says so, else the name

    @property
    def name(self) -> str:
        return self.qualname or self.function

    @property
    def significant(self) -> bool:
        """The CI excludes zero, or a call count really changed (counts are exact)."""
        return self.ci_low > 0 or self.ci_high < 0

    @property
    def structural(self) -> bool:
        return self.status != "changed" or any(e.status != "same" for e in self.edges)


@dataclass(frozen=True)
class LibraryChange:
    """A library function whose time or calls per scenario call changed."""

    key: str
    function: str
    file: str
    baseline_seconds: float  # inclusive, per scenario call
    current_seconds: float
    baseline_calls: float
    current_calls: float


@dataclass(frozen=True)
class CulpritReport:
    """Culprits of one scenario's change, baseline -> current, per scenario call."""

    culprits: tuple[Culprit, ...]  # biggest change first (see `find_culprits`)
    baseline_seconds: float  # profiled time per scenario call, mean over workers
    current_seconds: float
    baseline_workers: int
    current_workers: int
    own_structure_changed: bool  # any own-code call count changed, or own functions came/went
    library_changes: tuple[LibraryChange, ...] = ()  # when own structure did not change
    direction: int = 0  # +1 slower, -1 faster, 0 both (as asked)
    timing_ratio: float | None = None  # the timing verdict's ratio, when given
    benchmark: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def delta_seconds(self) -> float:
        return self.current_seconds - self.baseline_seconds

    @property
    def profiled_ratio(self) -> float:
        return self.current_seconds / self.baseline_seconds if self.baseline_seconds else np.nan

    def named(self, n: int = 3) -> list[Culprit]:
        """The first `n` culprits, structure before timing.

        Significant culprits with changed call counts in the asked direction come first;
        when there are none, those going the other way under the profiler (its per-call
        overhead can turn a saving into a cost); then significant timing-only changes in
        the asked direction. With nothing significant at all, changed call structure
        still names candidates (marked within noise by `culprit_text`).
        """
        significant = [c for c in self.culprits if c.significant]
        along = [c for c in significant if c.structural and _along(c, self.direction)]
        if not along:
            along = [c for c in significant if c.structural]
        timing = [c for c in significant if not c.structural and _along(c, self.direction)]
        out = along + timing
        if not out:
            changed = [c for c in self.culprits if c.structural and c.delta_seconds != 0]
            out = sorted(changed, key=lambda c: -abs(c.delta_seconds))
        return out[:n]

    @property
    def dependency_suspected(self) -> bool:
        """Own code calls the same things as often; the change sits in library code."""
        return not self.own_structure_changed and bool(self.library_changes)

    def explained_seconds(self, n: int = 3) -> float:
        return float(sum(c.delta_seconds for c in self.named(n)))


def _along(c: Culprit, direction: int) -> bool:
    return direction == 0 or np.sign(c.delta_seconds) == direction


def _same_count(a: float, b: float) -> bool:
    return abs(a - b) <= COUNT_TOLERANCE * max(abs(a), abs(b)) + 1e-12


def find_culprits(
    baseline: Profile | Sequence[Profile],
    current: Profile | Sequence[Profile],
    *,
    direction: int | None = None,
    timing_ratio: float | None = None,
    confidence: float = 0.95,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    benchmark: str | None = None,
) -> CulpritReport:
    """Own-code culprits of the change baseline -> current, per scenario call.

    Each side is one profile or several (one per profiling worker; their spread gives
    each culprit a bootstrap CI). Culprits come biggest first by the CI bound nearest
    zero, so a large but noisy change does not outrank a smaller certain one; the
    asked `direction` (+1 slower, -1 faster, 0 either) goes first. Without one, the
    direction is the timing's (`timing_ratio`, current / baseline) or else the profiles'.
    """
    base = [baseline] if isinstance(baseline, Profile) else list(baseline)
    cur = [current] if isinstance(current, Profile) else list(current)
    if not base or not cur:
        raise ValueError("find_culprits needs at least one profile per side")
    rooted = all(p.root is not None for p in (*base, *cur))
    # the current side's source names methods (a function only in baseline: the baseline's)
    roots = {str(f): p.root for p in (*base, *cur) for f in p.functions["file"].unique() if p.root}
    index = Index()
    base_rows = [worker_rows(p, index) for p in base]
    cur_rows = [worker_rows(p, index) for p in cur]
    matches = list(index.fkeys)
    own = np.array([is_own_code(index.info[m][2], rooted) for m in matches], dtype=bool)
    b_side, c_side = side_matrices(base_rows, index, own), side_matrices(cur_rows, index, own)
    existing = _defined_on_both_sides(index, base, cur) if rooted else None
    model = Model(index, own, existing)
    bm, cm = means(b_side), means(c_side)
    point = model.scores(bm, cm)
    rng = np.random.default_rng(seed)
    wb = bootstrap_weights(rng, len(base), resamples)
    wc = bootstrap_weights(rng, len(cur), resamples)
    boot = model.scores(means(b_side, wb), means(c_side, wc))
    edges_by_caller = _edge_changes(index, model, bm, cm, roots)
    nb_all, nc_all = bm["calls"], cm["calls"]
    own_delta = np.where(
        (nb_all > 0) & (nc_all > 0),
        (nb_all + nc_all) / 2 * (per(cm["own"], nc_all) - per(bm["own"], nb_all)),
        cm["own"] - bm["own"],
    )
    owners = _anonymous_owners(index, model, bm, cm)
    for anon, owner in owners.items():
        # A lambda, comprehension or generator is its enclosing function's code.
        point[owner] += point[anon]
        boot[:, owner] += boot[:, anon]
        own_delta[owner] += own_delta[anon]
        merged = edges_by_caller.get(owner, []) + edges_by_caller.get(anon, [])
        if not any(e.callee == index.info[matches[anon]][0] for e in merged):
            merged.append(_anonymous_calls(index, matches, anon, owner, bm, cm))
        merged.sort(key=lambda e: (e.status == "same", -abs(e.cost_seconds), e.callee))
        edges_by_caller[owner] = merged[:MAX_EDGES]
    alpha = (1 - confidence) / 2
    # A percentile bootstrap over 3-5 workers is too narrow (it never sees more spread than
    # the few workers showed): use its standard error, corrected for the small sample, with
    # a t quantile on the workers' degrees of freedom.
    n_b, n_c = len(base), len(cur)
    if n_b + n_c > 2:
        # scipy.stats.t.ppf's own value (it calls scipy.special.stdtrit), without importing
        # scipy.stats: 0.3-1.1 s of every summary that names a culprit, on this 2-core box.
        from perfkit.collect.quantiles import stdtrit

        correction = np.sqrt(max(n_b / max(n_b - 1, 1), n_c / max(n_c - 1, 1)))
        half = stdtrit(n_b + n_c - 2, 1 - alpha) * boot.std(axis=0) * correction
    else:
        half = np.zeros_like(point)
    low, high = point - half, point + half
    culprits = []
    for i in np.flatnonzero(own):
        if i in owners:
            continue
        key, fn, file, line = index.info[matches[i]]
        nb, nc = bm["calls"][i], cm["calls"][i]
        status = "new" if nb == 0 else "gone" if nc == 0 else "changed"
        if status != "changed" and model.existing[i]:
            status = "called" if nb == 0 else "uncalled"  # in both sources, run on one side
        culprits.append(
            Culprit(
                key=key,
                function=fn,
                file=file,
                line=line,
                status=status,
                delta_seconds=float(point[i]),
                ci_low=float(min(low[i], point[i])),
                ci_high=float(max(high[i], point[i])),
                own_delta_seconds=float(own_delta[i]),
                baseline_seconds=float(bm["incl"][i]),
                current_seconds=float(cm["incl"][i]),
                baseline_calls=float(nb),
                current_calls=float(nc),
                edges=tuple(edges_by_caller.get(i, ())),
                qualname=qualified_name(roots.get(file), file, line, fn),
            )
        )
    if direction is None:
        change = (timing_ratio - 1) if timing_ratio else c_side.total.mean() - b_side.total.mean()
        direction = int(np.sign(change))
    culprits.sort(key=lambda c: _rank(c, direction))
    counts_changed = any(
        not _same_count(bm["calls"][i], cm["calls"][i]) for i in np.flatnonzero(own)
    )
    structure = counts_changed or any(c.structural for c in culprits)
    library = () if structure else _library_changes(index, own, bm, cm, b_side, c_side)
    return CulpritReport(
        culprits=tuple(culprits),
        baseline_seconds=float(b_side.total.mean()),
        current_seconds=float(c_side.total.mean()),
        baseline_workers=len(base),
        current_workers=len(cur),
        own_structure_changed=structure,
        library_changes=library,
        direction=direction,
        timing_ratio=timing_ratio,
        benchmark=benchmark,
    )


ANONYMOUS = ("<lambda>", "<listcomp>", "<genexpr>", "<dictcomp>", "<setcomp>")


def _anonymous_owners(
    index: Index, model: Model, bm: dict[str, np.ndarray], cm: dict[str, np.ndarray]
) -> dict[int, int]:
    """Own-code lambdas and comprehensions -> the named own function they belong to.

    The owner is the named own-code function calling them most (through one library
    call, as for ``sorted(key=lambda ...)``), in the same file.
    """
    matches = list(index.fkeys)
    info = [index.info[m] for m in matches]
    calls = bm["edge_calls"] + cm["edge_calls"]
    callers_of: dict[int, list[tuple[int, float]]] = {}
    for j, (a, g) in enumerate(zip(model.callers, model.callees, strict=True)):
        if a != g:
            callers_of.setdefault(int(g), []).append((int(a), float(calls[j])))

    def anonymous(i: int) -> bool:
        return bool(model.own[i]) and info[i][1] in ANONYMOUS

    def owner(i: int, depth: int = 0) -> int | None:
        best: tuple[float, int] | None = None
        for a, n in callers_of.get(i, []):
            if model.own[a] and anonymous(a) and depth < 3:
                found = owner(a, depth + 1)
                candidates = [(n, found)] if found is not None else []
            elif model.own[a]:
                candidates = [(n, a)]
            else:  # library calls in between: sorted(key=...), Counter(genexpr), re.sub(repl)
                candidates = _own_above(a, callers_of, model.own, anonymous, n)
            for n_calls, b in candidates:
                if info[b][2] == info[i][2] and (best is None or n_calls > best[0]):
                    best = (n_calls, b)
        return best[1] if best else None

    out: dict[int, int] = {}
    for i in range(len(matches)):
        if anonymous(i):
            found = owner(i)
            if found is not None:
                out[i] = found
    return out


def _defined_on_both_sides(index: Index, base: list[Profile], cur: list[Profile]) -> np.ndarray:
    """Own functions whose definition exists in both sides' sources (same file and name)."""
    roots_b = {p.root for p in base if p.root}
    roots_c = {p.root for p in cur if p.root}
    out = np.zeros(len(index.fkeys), dtype=bool)
    if not roots_b or not roots_c:
        return out
    root_b, root_c = sorted(roots_b)[0], sorted(roots_c)[0]
    for i, match in enumerate(index.fkeys):
        _, fn, file, line = index.info[match]  # current's line when current has it
        if fn.startswith("<") or file.startswith(("<", "/", "~")):
            continue
        seen_in = root_c if qualified_name(root_c, file, line, fn) != fn else root_b
        name = qualified_name(seen_in, file, line, fn)  # Class.method: `run` alone is ambiguous
        out[i] = defines(root_b, file, name) and defines(root_c, file, name)
    return out


def _anonymous_calls(
    index: Index,
    matches: list[str],
    anon: int,
    owner: int,
    bm: dict[str, np.ndarray],
    cm: dict[str, np.ndarray],
) -> EdgeChange:
    """A generator or lambda resumed through a library call (``sum(x for x in ...)``,
    ``sorted(key=lambda ...)``) as a call site of the function that contains it."""
    key, fn, file, _ = index.info[matches[anon]]
    nb, nc = bm["calls"], cm["calls"]
    b_rate, c_rate = per(nb[anon], nb[owner]), per(nc[anon], nc[owner])
    both = nb[anon] > 0 and nc[anon] > 0
    mean_incl = (per(bm["incl"][anon], nb[anon]) + per(cm["incl"][anon], nc[anon])) / 2
    cost = (c_rate - b_rate) * (nb[owner] + nc[owner]) / 2 * mean_incl if both else 0.0
    return EdgeChange(
        callee=key,
        function=fn,
        file=file,
        library=False,
        baseline_calls=float(nb[anon]),
        current_calls=float(nc[anon]),
        baseline_per_caller_call=float(b_rate),
        current_per_caller_call=float(c_rate),
        cost_seconds=float(cost),
    )


def _own_above(
    start: int,
    callers_of: dict[int, list[tuple[int, float]]],
    own: np.ndarray,
    anonymous: Any,
    calls: float,
    depth: int = 3,
) -> list[tuple[float, int]]:
    """Named own-code functions above a library frame, at most `depth` library frames up."""
    found: list[tuple[float, int]] = []
    frontier, seen = [start], {start}
    for _ in range(depth):
        nxt = []
        for f in frontier:
            for b, _m in callers_of.get(f, []):
                if b in seen:
                    continue
                seen.add(b)
                if own[b] and not anonymous(b):
                    found.append((calls, b))
                elif not own[b]:
                    nxt.append(b)
        if found:
            return found
        frontier = nxt
    return found


def _rank(c: Culprit, direction: int) -> tuple[int, int, float, str]:
    """Asked direction first, then significant, then by the CI bound nearest zero."""
    sure = c.ci_low if c.delta_seconds > 0 else -c.ci_high
    return (
        0 if _along(c, direction) else 1,
        0 if c.significant else 1,
        -max(sure, 0.0) - abs(c.delta_seconds) * 1e-9,
        c.key,
    )


def _edge_changes(
    index: Index,
    model: Model,
    bm: dict[str, np.ndarray],
    cm: dict[str, np.ndarray],
    roots: dict[str, str | None],
) -> dict[int, list[EdgeChange]]:
    out: dict[int, list[EdgeChange]] = {}
    matches = list(index.fkeys)
    nb_f, nc_f = bm["calls"], cm["calls"]
    for j, (a, g) in enumerate(zip(model.callers, model.callees, strict=True)):
        if not model.own[a] or a == g:
            continue
        b, c = bm["edge_calls"][j], cm["edge_calls"][j]
        key, fn, file, line = index.info[matches[g]]
        if model.own[g]:
            fn = qualified_name(roots.get(file), file, line, fn)
        rated = nb_f[a] > 0 and nc_f[a] > 0
        delta = float(edge_delta(b, c, nb_f[a], nc_f[a], rated))
        if model.own[g] and nb_f[g] > 0 and nc_f[g] > 0:
            mean_incl = (per(bm["incl"][g], nb_f[g]) + per(cm["incl"][g], nc_f[g])) / 2
            cost = delta * float(mean_incl)
        elif model.own[g] and model.existing[g]:  # run on one side only: the call site's
            cost = delta * float(per(bm["incl"][g], nb_f[g]) + per(cm["incl"][g], nc_f[g]))
        elif model.own[g]:
            cost = 0.0  # a new or gone own function is a culprit of its own
        else:
            cost = float(edge_delta(bm["edge_net"][j], cm["edge_net"][j], nb_f[a], nc_f[a], rated))
        out.setdefault(int(a), []).append(
            EdgeChange(
                callee=key,
                function=fn,
                file=file,
                library=not model.own[g],
                baseline_calls=float(b),
                current_calls=float(c),
                baseline_per_caller_call=float(b / nb_f[a]) if nb_f[a] > 0 else 0.0,
                current_per_caller_call=float(c / nc_f[a]) if nc_f[a] > 0 else 0.0,
                cost_seconds=float(cost),
            )
        )
    for a, changes in out.items():
        changes.sort(key=lambda e: (e.status == "same", -abs(e.cost_seconds), e.callee))
        out[a] = [e for e in changes if e.status != "same" or e.library][:MAX_EDGES]
    return out


def _library_changes(
    index: Index,
    own: np.ndarray,
    bm: dict[str, np.ndarray],
    cm: dict[str, np.ndarray],
    b_side: Side,
    c_side: Side,
) -> tuple[LibraryChange, ...]:
    """Library functions whose calls changed, or whose own time changed beyond worker spread."""
    matches = list(index.fkeys)
    found: list[tuple[float, LibraryChange]] = []
    for i in np.flatnonzero(~own):
        key, fn, file, _ = index.info[matches[i]]
        if not is_library(file):
            continue
        nb, nc = bm["calls"][i], cm["calls"][i]
        delta = cm["own"][i] - bm["own"][i]
        spread = b_side.own[:, i].std(ddof=1) if len(b_side.own) > 1 else 0.0
        spread = max(spread, c_side.own[:, i].std(ddof=1) if len(c_side.own) > 1 else 0.0)
        if _same_count(nb, nc) and abs(delta) <= 3 * spread:
            continue
        change = LibraryChange(
            key, fn, file, float(bm["incl"][i]), float(cm["incl"][i]), float(nb), float(nc)
        )
        found.append((-abs(delta), change))
    found.sort(key=lambda t: (t[0], t[1].key))
    return tuple(c for _, c in found[:10])
