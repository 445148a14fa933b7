"""The arithmetic behind culprits: per-worker matrices of functions and call sites, and the
attribution of a scenario's change to own-code functions as array operations over side
means (so that a bootstrap over profiling workers is a matrix product).

Only perfkit.analysis.culprits calls this; it knows nothing of words or reports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from perfkit.analysis.profiles import Profile, _match_keys

CALLBACK_DEPTH = 6  # library frames between a library call and an own-code callback


@dataclass
class Side:
    """Per-worker matrices of one side (rows: workers; columns: functions or edges)."""

    calls: np.ndarray  # function calls per scenario call
    own: np.ndarray  # own time per scenario call
    incl: np.ndarray  # inclusive time per scenario call
    attr: np.ndarray  # own time + library subtrees (callbacks removed) per scenario call
    edge_calls: np.ndarray
    edge_cum: np.ndarray
    total: np.ndarray  # profiled seconds per scenario call, per worker
    edge_net: np.ndarray  # call-site time without own-code callbacks under it


@dataclass
class Index:
    fkeys: dict[str, int] = field(default_factory=dict)
    ekeys: dict[tuple[str, str], int] = field(default_factory=dict)
    info: dict[str, tuple[str, str, str, int]] = field(default_factory=dict)  # key,fn,file,line

    def f(self, match: str) -> int:
        return self.fkeys.setdefault(match, len(self.fkeys))

    def e(self, pair: tuple[str, str]) -> int:
        return self.ekeys.setdefault(pair, len(self.ekeys))


def worker_rows(profile: Profile, index: Index) -> dict[str, dict]:
    """Index every function and edge of one profile; return its per-scenario-call values."""
    f = profile.functions
    matches = _match_keys(f)
    by_key = dict(zip(f["key"], matches, strict=True))
    k = float(profile.calls)
    funcs: dict[int, tuple[float, float, float]] = {}
    for match, key, fn, file, line, n, tot, cum in zip(
        matches,
        f["key"],
        f["function"],
        f["file"],
        f["line"],
        f["ncalls"],
        f["tottime"],
        f["cumtime"],
        strict=True,
    ):
        i = index.f(match)
        index.info[match] = (key, fn, file, int(line))
        funcs[i] = (n / k, tot / k, cum / k)
    edges: dict[int, tuple[float, float]] = {}
    e = profile.edges
    cum_edges = np.nan_to_num(e["cumtime"].to_numpy(dtype=float))
    for caller, callee, n, cum in zip(
        e["caller"], e["callee"], e["ncalls"], cum_edges, strict=True
    ):
        a, b = by_key.get(caller), by_key.get(callee)
        if a is None or b is None:
            continue
        edges[index.e((a, b))] = (n / k, cum / k)
    return {"functions": funcs, "edges": edges, "total": profile.seconds_per_call}


def side_matrices(rows: list[dict], index: Index, own: np.ndarray) -> Side:
    w, nf, ne = len(rows), len(index.fkeys), len(index.ekeys)
    calls, tot, cum = (np.zeros((w, nf)) for _ in range(3))
    ecalls, ecum = np.zeros((w, ne)), np.zeros((w, ne))
    for r, row in enumerate(rows):
        for i, (n, t, c) in row["functions"].items():
            calls[r, i], tot[r, i], cum[r, i] = n, t, c
        for j, (n, c) in row["edges"].items():
            ecalls[r, j], ecum[r, j] = n, c
    attr = tot.copy()
    edge_net = ecum.copy()  # call-site time, own-code callbacks under it removed
    if ne:
        pairs = np.array(list(index.ekeys), dtype=object)
        callers = np.array([index.fkeys[p] for p in pairs[:, 0]])
        callees = np.array([index.fkeys[p] for p in pairs[:, 1]])
        # Own-code callbacks under a library function are the callback's, not the caller's.
        into_own = own[callees] & ~own[callers]
        direct = np.zeros((w, nf))
        np.add.at(direct.T, callers[into_own], ecum[:, into_own].T)
        # ...also deeper down (feed -> goahead -> handle_starttag): each library call passes
        # on its share of its callee's callback time.
        lib_lib = ~own[callers] & ~own[callees] & (callers != callees)
        pass_on = np.divide(
            ecum[:, lib_lib],
            cum[:, callees[lib_lib]],
            out=np.zeros((w, int(lib_lib.sum()))),
            where=cum[:, callees[lib_lib]] > 0,
        )
        pass_on = np.minimum(pass_on, 1.0)
        callback = direct
        for _ in range(CALLBACK_DEPTH):
            deeper = direct.copy()
            np.add.at(deeper.T, callers[lib_lib], (pass_on * callback[:, callees[lib_lib]]).T)
            callback = np.minimum(deeper, cum)
        lib_from_own = own[callers] & ~own[callees] & (callers != callees)
        share = np.divide(
            ecum[:, lib_from_own],
            cum[:, callees[lib_from_own]],
            out=np.zeros((w, int(lib_from_own.sum()))),
            where=cum[:, callees[lib_from_own]] > 0,
        )
        net = ecum[:, lib_from_own] - np.minimum(share, 1.0) * callback[:, callees[lib_from_own]]
        np.add.at(attr.T, callers[lib_from_own], net.T)
        edge_net[:, lib_from_own] = net
    total = np.array([row["total"] for row in rows])
    if w > 1:
        # A worker on a busier moment runs everything slower alike: scale each worker to
        # its side's mean total, so that the spread left is the functions' own.
        speed = (total.mean() / total)[:, None]
        tot, cum, attr, ecum = tot * speed, cum * speed, attr * speed, ecum * speed
        edge_net = edge_net * speed
    return Side(calls, tot, cum, attr, ecalls, ecum, total, edge_net)


def per(total: Any, calls: Any) -> Any:
    """`total / calls`, 0 where there are no calls."""
    total, calls = np.asarray(total, dtype=float), np.asarray(calls, dtype=float)
    return np.divide(total, calls, out=np.zeros(np.broadcast(total, calls).shape), where=calls > 0)


def edge_delta(eb: Any, ec: Any, nb: Any, nc: Any, rated: Any) -> Any:
    """Change of a call site's count that its caller is answerable for.

    Where `rated`, the change of calls per caller call at the caller's mean count (the
    caller's own count change is its caller's doing); elsewhere the plain difference.
    """
    rate_change = (per(ec, nc) - per(eb, nb)) * (np.asarray(nb) + np.asarray(nc)) / 2
    return np.where(rated, rate_change, np.asarray(ec) - np.asarray(eb))


class Model:
    """The attribution as array arithmetic over side means (so a bootstrap is cheap)."""

    def __init__(self, index: Index, own: np.ndarray, existing: np.ndarray | None = None) -> None:
        pairs = list(index.ekeys)
        self.callers = np.array([index.fkeys[a] for a, _ in pairs], dtype=int)
        self.callees = np.array([index.fkeys[b] for _, b in pairs], dtype=int)
        n = len(own)
        self.own = own
        self.existing = own & existing if existing is not None else np.zeros_like(own)
        self.own_edge = (
            own[self.callees] & (self.callers != self.callees) if pairs else np.zeros(0, dtype=bool)
        )
        self.from_outside = self.own_edge & ~own[self.callers]
        self.n = n

    def scores(self, b: dict[str, np.ndarray], c: dict[str, np.ndarray]) -> np.ndarray:
        """Attributed change per function; arrays may carry a leading bootstrap axis.

        A change of N·u (calls times cost per call) splits symmetrically: the function
        is charged its per-call change at the mean count, its callers the count change
        at the mean cost per call (neither side's profile is the reference).
        """
        nb, nc, ab, ac = b["calls"], c["calls"], b["attr"], c["attr"]
        both = (nb > 0) & (nc > 0)
        # A function in both sources but run on one side only (a cache that stopped
        # hitting): its callers' new or gone call sites are the change, not the function.
        charged = both | self.existing
        score = np.where(
            both,
            (nb + nc) / 2 * (per(ac, nc) - per(ab, nb)),
            np.where(self.existing, 0.0, ac - ab),
        )
        if len(self.callers):
            pb, pc = per(b["incl"], nb), per(c["incl"], nc)
            mean_incl = np.where(both, (pb + pc) / 2, pb + pc)
            a, g = self.callers[self.own_edge], self.callees[self.own_edge]
            eb, ec = b["edge_calls"][..., self.own_edge], c["edge_calls"][..., self.own_edge]
            outside = self.from_outside[self.own_edge]
            delta = edge_delta(eb, ec, nb[..., a], nc[..., a], both[..., a] & ~outside)
            cost = delta * mean_incl[..., g] * charged[..., g]
            owner = np.where(outside, g, a)
            out = np.zeros_like(score)
            np.add.at(np.moveaxis(out, -1, 0), owner, np.moveaxis(cost, -1, 0))
            score = score + out
        return score * self.own


def means(side: Side, weights: np.ndarray | None = None) -> dict[str, np.ndarray]:
    names = ("calls", "own", "incl", "attr", "edge_calls", "edge_cum", "edge_net")
    if weights is None:
        return {k: getattr(side, k).mean(axis=0) for k in names}
    return {k: weights @ getattr(side, k) for k in names}


def bootstrap_weights(rng: np.random.Generator, workers: int, resamples: int) -> np.ndarray:
    picks = rng.integers(0, workers, size=(resamples, workers))
    weights = np.zeros((resamples, workers))
    np.add.at(weights, (np.arange(resamples)[:, None], picks), 1.0 / workers)
    return weights
