"""Recommendations derived from the report's data: each one names a benchmark, a number
and the next step. No data, no recommendation; nothing here is canned text.

Reads `ReportData` tables only; computes no statistics of its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from perfkit.analysis.budgets import measured_text
from perfkit.analysis.triage import change_groups
from perfkit.config import DEFAULT_PLAN
from perfkit.render.format import format_bytes, format_change, format_ratio_ci
from perfkit.report.data import ReportData
from perfkit.report.markdown import md_code, md_text

GROUP_FROM = 5  # regressions; more are recommended per benchmark name, not one by one
GROUPS_NAMED = 5  # benchmark names with a recommendation of their own
NOISY_CV = 0.10  # per-worker medians spread more than this: the machine was busy
DEFAULT_WORKERS = DEFAULT_PLAN.workers  # what `perfkit run` uses: advise at least that


@dataclass(frozen=True)
class Recommendation:
    kind: str  # regression|budget|leak|memory|scaling|inconclusive|noise|failure|ok
    text: str  # markdown


def _culprit_text(rep: ReportData, benchmark: str) -> str:
    if not rep.compared or benchmark not in rep.profiled_ids():
        return " Profile it (`perfkit run --profile`) to see where the time goes."
    from perfkit.analysis.culprit_words import culprit_text, dependency_text

    report = rep.culprit_report(benchmark)
    dependency = dependency_text(report)
    if dependency:
        return f" {dependency}"
    named = report.named(1)
    if not named:
        return (
            " No function of your code changed beyond the profiling workers' spread: look at"
            " the call graph, or profile with more workers (`--profile-workers`)."
        )
    return f" Start with {culprit_text(named[0])}."


def _memory_growth(rep: ReportData) -> list[Recommendation]:
    """Peak RSS that grew past the threshold (one memory worker a side: no CI)."""
    table = rep.table
    if table is None or "memory_verdict" not in table:
        return []
    grew = table[table["memory_verdict"] == "regression"].sort_values(
        "memory_ratio", ascending=False
    )
    if grew.empty:
        return []
    r = grew.iloc[0]
    others = f" ({len(grew) - 1} more benchmark(s) too)" if len(grew) > 1 else ""
    return [
        Recommendation(
            "memory",
            f"Peak memory of {md_code(r['id'])} grew {format_bytes(r['baseline_peak_rss_bytes'])}"
            f" → {format_bytes(r['current_peak_rss_bytes'])} ({r['memory_ratio'] - 1:+.0%})"
            f"{others}: look for data now loaded or kept at start-up (the memory figures "
            "show which benchmarks).",
        )
    ]


def _inconclusive(rep: ReportData) -> list[Recommendation]:
    """Why some benchmarks have no verdict, and how to get one."""
    from perfkit.analysis.stats import MIN_WORKERS

    table = rep.table
    unsure = table[table["verdict"] == "inconclusive"] if table is not None else table
    if unsure is None or unsure.empty:
        return []
    workers = int(rep.sides[-1].run.meta.get("options", {}).get("workers") or 0)
    more = max(DEFAULT_WORKERS, 2 * workers) if workers else DEFAULT_WORKERS
    few = unsure[unsure[["n_baseline", "n_current"]].min(axis=1) < MIN_WORKERS]
    slower = unsure[unsure["ratio"] > 1]
    if not slower.empty:
        top, what = slower.loc[slower["ratio"].idxmax()], "slow-down"
    else:
        sizes = unsure["ratio"].map(lambda r: abs(math.log(r)) if r > 0 else math.nan)
        top, what = unsure.loc[sizes.fillna(-1).idxmax()], "change"
    apparent = (
        f" The largest apparent {what} is {md_code(top['id'])}, {top['change_text']}."
        if math.isfinite(top["ratio"]) and top["ratio"] > 0
        else ""
    )
    if not few.empty:
        fewest = int(few[["n_baseline", "n_current"]].min(axis=1).min())
        return [
            Recommendation(
                "inconclusive",
                f"{len(few)} benchmark(s) have only {fewest} worker(s) on a side, fewer than "
                f"the {MIN_WORKERS} a verdict needs: measure again with `--workers {more}`."
                f"{apparent}",
            )
        ]
    widest = unsure.assign(
        width=(unsure["ci_high"] / unsure["ci_low"]).where(unsure["ci_low"] > 0)
    ).sort_values("width", ascending=False)
    r = widest.iloc[0]
    width = (
        f" (widest: {md_code(r['id'])}, ratio CI {format_ratio_ci(r['ci_low'], r['ci_high'], 2)})"
        if math.isfinite(r["ci_low"]) and math.isfinite(r["ci_high"])
        else ""
    )
    return [
        Recommendation(
            "inconclusive",
            f"{len(unsure)} benchmark(s) are inconclusive{width}: their CI straddles the "
            f"±{rep.threshold:.0%} band; measure again with more workers (`--workers {more}`) "
            f"on a quieter machine before deciding.{apparent}",
        )
    ]


def _grouped_regressions(rep: ReportData) -> list[Recommendation]:
    """Many regressions: one recommendation per benchmark name (its params together),
    the biggest first, the smallest groups summed up in one line."""
    table = rep.table
    regressed = table[table["verdict"] == "regression"]
    groups = change_groups(regressed).head(GROUPS_NAMED)
    sizes = table.groupby("benchmark")["id"].size()
    profiled_ids = set(rep.profiled_ids()) if rep.compared else set()
    out = []
    for g in groups.itertuples(index=False):
        rows = regressed[regressed["benchmark"] == g.benchmark]
        low, high = rows["ratio"].min(), rows["ratio"].max()
        span = (
            format_change(high)
            if len(rows) == 1
            else f"{format_change(low)} to {format_change(high)}"
        )
        which = (
            md_code(rows["id"].iloc[0])
            if len(rows) == 1
            else (
                f"{md_code(g.benchmark)} ({len(rows)} of its {int(sizes[g.benchmark])} parameter sets)"
            )
        )
        profiled = [cid for cid in rows["id"] if cid in profiled_ids]
        culprit = _culprit_text(rep, profiled[0]) if profiled else ""
        out.append(Recommendation("regression", f"Fix the regression of {which}: {span}.{culprit}"))
    left = regressed[~regressed["benchmark"].isin(groups["benchmark"])]
    if not left.empty:
        names = left["benchmark"].nunique()
        out.append(
            Recommendation(
                "regression",
                f"{len(left)} more regression(s) in {names} other benchmark(s), "
                f"{format_change(left['ratio'].min())} to {format_change(left['ratio'].max())}: "
                "see the Benchmarks table.",
            )
        )
    return out


def recommendations(rep: ReportData) -> list[Recommendation]:
    """What to do next, most important first."""
    out: list[Recommendation] = []
    table = rep.table
    if table is not None and (table["verdict"] == "regression").sum() > GROUP_FROM:
        out.extend(_grouped_regressions(rep))
    elif table is not None:
        worst = table[table["verdict"] == "regression"].sort_values("ratio", ascending=False)
        for r in worst.itertuples(index=False):
            out.append(
                Recommendation(
                    "regression",
                    f"Fix the regression of {md_code(r.id)} ({r.change_text}, ratio CI "
                    f"{format_ratio_ci(r.ci_low, r.ci_high, 2)}).{_culprit_text(rep, r.id)}",
                )
            )
    for b in rep.budgets[rep.budgets["status"] == "missed"].itertuples(index=False):
        measured = measured_text(b.kind, b.measured)
        what = "upper CI bound of its time" if b.kind == "time" else "its peak RSS"
        out.append(
            Recommendation(
                "budget",
                f"{md_code(b.id)} misses its {b.kind} budget of {b.budget_text}: {what} is "
                f"{measured}. Bring it under budget or revise the budget with a reason.",
            )
        )
    memory = rep.memory
    if not memory.empty:
        for m in memory[memory["leak"]].itertuples(index=False):
            sites = list(m.top_growth_sites)
            site = f" The top growing site is {md_code(sites[0]['site'])}." if sites else ""
            out.append(
                Recommendation(
                    "leak",
                    f"{md_code(m.id)} on {md_code(m.series)} "
                    f"{getattr(m, 'growth_text', 'grows per call')}.{site} Check what keeps a "
                    "reference across calls (module-level lists, caches without a bound).",
                )
            )
    change = rep.scaling_change
    if change is not None and not change.empty:
        for s in change.itertuples(index=False):
            shape = getattr(s, "shape_change", "")
            if shape == "better":
                out.append(
                    Recommendation(
                        "scaling",
                        f"{md_code(s.benchmark)} {md_text(s.text)} with {md_code(s.param)}: "
                        "a change of complexity, worth more than any constant factor at large "
                        f"{md_code(s.param)}. Keep a benchmark at a large {md_code(s.param)} "
                        "so it cannot come back unnoticed.",
                    )
                )
            elif shape == "worse" or s.grew:
                what = md_text(s.text) if shape else f"scales worse: k = {md_text(s.text)}"
                out.append(
                    Recommendation(
                        "scaling",
                        f"{md_code(s.benchmark)} {what} with {md_code(s.param)}. "
                        "Look for work that now repeats per item (nested loops, per-item "
                        "lookups).",
                    )
                )
    if table is not None:
        out.extend(_memory_growth(rep))
        out.extend(_inconclusive(rep))
    timing = rep.timing
    if not timing.empty and "cv" in timing:
        noisy = timing[timing["cv"] > NOISY_CV].sort_values("cv", ascending=False)
        if not noisy.empty:
            r = noisy.iloc[0]
            out.append(
                Recommendation(
                    "noise",
                    f"{len(noisy)} timing(s) vary more than {NOISY_CV:.0%} between workers "
                    f"(worst: {md_code(r['id'])} on {md_code(r['series'])}, CV {r['cv']:.0%}): "
                    "the machine was busy; keep `--processes 1` and close other work.",
                )
            )
    failures = rep.failures
    if not failures.empty:
        first = failures.drop_duplicates("id")
        what = "; ".join(
            f"{md_code(r.id)} ({r.kind}: {md_text(str(r.message)[:80])})"
            for r in first.head(3).itertuples(index=False)
        )
        more = f" and {len(first) - 3} more" if len(first) > 3 else ""
        out.append(
            Recommendation(
                "failure",
                f"{len(failures)} worker(s) failed: {what}{more}. Their numbers are missing "
                "from this report; see failures.csv of the run.",
            )
        )
    if not out:
        out.append(
            Recommendation(
                "ok",
                "Nothing to act on: no regression, every budget met, no leak, no scaling change.",
            )
        )
    return out
