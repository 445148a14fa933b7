"""textmatch: normalise, parse and match music-catalogue text (the culprit corpus' library).

A small library written the way such libraries are written, so that the edits in
tests/culprit_corpus/edits.py look like real commits. It is test data for
`python -m perfkit.selfbench culprits`, not part of perfkit.
"""

from textmatch.dedupe import dedupe
from textmatch.index import Index
from textmatch.normalize import normalize_title
from textmatch.parse import parse_line

__all__ = ["Index", "dedupe", "normalize_title", "parse_line"]
