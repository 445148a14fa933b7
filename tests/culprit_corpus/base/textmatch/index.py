"""An inverted index of normalised title tokens, and ranked search over it."""

from __future__ import annotations

from collections import defaultdict

from textmatch.normalize import normalize_title, tokens
from textmatch.parse import Record
from textmatch.similarity import similarity


class Index:
    """Records indexed by title token; `search` ranks candidates by similarity."""

    def __init__(self, records: list[Record]) -> None:
        self.records = list(records)
        self.postings: dict[str, list[int]] = defaultdict(list)
        self.normalized = [normalize_title(r.title) for r in self.records]
        self.tokens = [tokens(r.title) for r in self.records]
        self._queries: dict[str, tuple[str, list[str]]] = {}
        for i, toks in enumerate(self.tokens):
            for tok in set(toks):
                self.postings[tok].append(i)

    def candidates(self, query_tokens: list[str], limit: int = 50) -> list[int]:
        """Records sharing the most tokens with the query, at most `limit`."""
        counts: dict[int, int] = defaultdict(int)
        for tok in set(query_tokens):
            for i in self.postings.get(tok, ()):
                counts[i] += 1
        ranked = sorted(counts, key=lambda i: (-counts[i], i))
        return ranked[:limit]

    def search(self, query: str, n: int = 5) -> list[tuple[float, Record]]:
        cached = self._queries.get(query)
        if cached is None:
            cached = self._queries[query] = (normalize_title(query), tokens(query))
        q_norm, q_tokens = cached
        scored = []
        for i in self.candidates(q_tokens):
            score = similarity(q_norm, self.normalized[i], q_tokens, self.tokens[i])
            scored.append((score, i))
        scored.sort(reverse=True)
        return [(s, self.records[i]) for s, i in scored[:n]]
