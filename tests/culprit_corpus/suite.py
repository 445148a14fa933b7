"""The culprit corpus' suite: realistic uses of textmatch (whichever version is on sys.path)."""

import sys
from pathlib import Path

import perfkit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from catalogue import lines, queries


@perfkit.benchmark()
def parse_catalogue():
    from textmatch.parse import parse_lines

    data = lines(300)
    return lambda: parse_lines(data)


@perfkit.benchmark()
def normalise_titles():
    from textmatch.normalize import normalize_title

    titles = [line.split(" - ", 1)[-1] for line in lines(400)]
    return lambda: [normalize_title(t) for t in titles]


@perfkit.benchmark()
def search_catalogue():
    from textmatch.index import Index
    from textmatch.parse import parse_lines

    index = Index(parse_lines(lines(400)))
    qs = queries(5) * 2  # users repeat searches
    return lambda: [index.search(q) for q in qs]


@perfkit.benchmark()
def dedupe_catalogue():
    from textmatch.dedupe import dedupe
    from textmatch.parse import parse_lines

    records = parse_lines(lines(80))
    return lambda: dedupe(records)


@perfkit.benchmark()
def build_index():
    from textmatch.index import Index
    from textmatch.parse import parse_lines

    records = parse_lines(lines(300))
    return lambda: Index(records)
