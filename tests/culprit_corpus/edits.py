"""Realistic edits to textmatch, each changing one function, for the culprit self-benchmark.

Each edit is a commit-sized textual change (old -> new in one file) with the function it
edits and the scenario it changes by a few percent. `apply(edit, dest)` writes the
edited library into `dest` (a copy of base/ with the one change).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

BASE = Path(__file__).resolve().parent / "base"


@dataclass(frozen=True)
class Edit:
    name: str
    scenario: str  # benchmark of suite.py it changes
    file: str  # relative to base/
    function: str  # the edited function: the right first culprit
    old: str
    new: str
    what: str
    more: tuple[tuple[str, str], ...] = ()  # further (old, new) replacements in the same file


EDITS = [
    Edit(
        "extra-regex-pass",
        "parse_catalogue",
        "textmatch/parse.py",
        "split_artists",
        "    parts = _ARTIST_SPLIT.split(text)\n",
        '    parts = _ARTIST_SPLIT.split(_SLASH.sub(", ", text))\n',
        "one more regex pass (a slash as artist separator)",
        more=(("_VERSION = re", '_SLASH = re.compile(r"\\s*/\\s*")\n_VERSION = re'),),
    ),
    Edit(
        "repeated-normalisation",
        "normalise_titles",
        "textmatch/normalize.py",
        "normalize_title",
        "    text = fold_accents(text).casefold()\n",
        "    text = fold_accents(text.casefold()).casefold()\n",
        "case folded twice (before and after folding accents)",
    ),
    Edit(
        "copy-in-loop",
        "search_catalogue",
        "textmatch/index.py",
        "search",
        "            score = similarity(q_norm, self.normalized[i], q_tokens, self.tokens[i])\n",
        "            score = similarity(\n"
        "                q_norm, self.normalized[i], list(q_tokens), list(self.tokens[i])\n"
        "            )\n",
        "defensive copies of both token lists for every candidate",
    ),
    Edit(
        "cache-dropped",
        "search_catalogue",
        "textmatch/index.py",
        "search",
        "        cached = self._queries.get(query)\n        if cached is None:\n"
        "            cached = self._queries[query] = (normalize_title(query), tokens(query))\n"
        "        q_norm, q_tokens = cached\n",
        "        q_norm, q_tokens = normalize_title(query), tokens(query)\n",
        "the per-index query cache dropped: every query normalised again",
    ),
    Edit(
        "linear-scan",
        "dedupe_catalogue",
        "textmatch/dedupe.py",
        "dedupe",
        "    seen: set[int] = set()\n",
        "    seen: list[int] = []\n",
        "records already grouped kept in a list: membership is an O(n) scan",
        more=(("seen.add(", "seen.append("),),
    ),
    Edit(
        "sorted-postings",
        "build_index",
        "textmatch/index.py",
        "__init__",
        "                self.postings[tok].append(i)\n",
        "                self.postings[tok].append(i)\n"
        "        self.postings = defaultdict(\n"
        "            list, {tok: sorted(set(ids)) for tok, ids in self.postings.items()}\n"
        "        )\n",
        "postings made unique and sorted after the build (a set and a sort per token)",
    ),
    Edit(
        "faster-collapse",
        "normalise_titles",
        "textmatch/normalize.py",
        "collapse_spaces",
        '    return _SPACES.sub(" ", text).strip()\n',
        '    out = []\n    for word in text.split():\n        out.append(word)\n    return " ".join(out)\n',
        "faster: spaces collapsed with split and join instead of a regex",
    ),
    Edit(
        "sort-twice",
        "search_catalogue",
        "textmatch/index.py",
        "candidates",
        "        ranked = sorted(counts, key=lambda i: (-counts[i], i))\n",
        "        ranked = sorted(sorted(counts), key=lambda i: -counts[i])\n",
        "candidates sorted twice (by id, then by count)",
    ),
    Edit(
        "extra-search",
        "parse_catalogue",
        "textmatch/parse.py",
        "extract_version",
        "    match = _VERSION.search(title)\n    if match is None:\n",
        "    match = _VERSION.search(title)\n    if match is None and _VERSION.search(title.replace('_', ' ')):\n"
        "        match = _VERSION.search(title.replace('_', ' '))\n    if match is None:\n",
        "a second search for underscore-separated versions",
    ),
    Edit(
        "stopwords-extended",
        "build_index",
        "textmatch/normalize.py",
        "strip_stopwords",
        "    kept = [t for t in tokens if t not in STOPWORDS]\n",
        "    stop = STOPWORDS | EXTRA_STOPWORDS\n    kept = [t for t in tokens if t not in stop]\n",
        "stop words extended by a second set, merged on every call",
        more=(
            (
                "\n\ndef fold_accents",
                '\nEXTRA_STOPWORDS = frozenset({"y", "e", "et", "und"})\n\n\ndef fold_accents',
            ),
        ),
    ),
    Edit(
        "faster-candidates",
        "search_catalogue",
        "textmatch/index.py",
        "candidates",
        "        counts: dict[int, int] = defaultdict(int)\n"
        "        for tok in set(query_tokens):\n"
        "            for i in self.postings.get(tok, ()):\n"
        "                counts[i] += 1\n",
        "        counts = Counter(\n"
        "            chain.from_iterable(self.postings.get(tok, ()) for tok in set(query_tokens))\n"
        "        )\n",
        "faster: postings counted by collections.Counter instead of a Python loop",
        more=(
            (
                "from collections import defaultdict\n",
                "from collections import Counter, defaultdict\nfrom itertools import chain\n",
            ),
        ),
    ),
    Edit(
        "faster-dedupe",
        "dedupe_catalogue",
        "textmatch/dedupe.py",
        "dedupe",
        "                if j not in seen and dice(titles[i], titles[j]) >= THRESHOLD:\n",
        "                if j in seen or abs(len(titles[i]) - len(titles[j])) > 8:\n"
        "                    continue\n"
        "                if dice(titles[i], titles[j]) >= THRESHOLD:\n",
        "faster: titles of very different length skip the bigram comparison",
    ),
]


def apply(edit: Edit, dest: Path) -> Path:
    """`dest` becomes base/ with `edit` applied; returns `dest`."""
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(BASE, dest, ignore=shutil.ignore_patterns("__pycache__"))
    file = dest / edit.file
    text = file.read_text(encoding="utf-8")
    if text.count(edit.old) != 1:  # the first replacement names one place
        raise ValueError(f"edit {edit.name}: the old text occurs {text.count(edit.old)} times")
    for old, new in ((edit.old, edit.new), *edit.more):
        if old not in text:
            raise ValueError(f"edit {edit.name}: {old!r} not found in {edit.file}")
        text = text.replace(old, new)
    file.write_text(text, encoding="utf-8")
    return dest
