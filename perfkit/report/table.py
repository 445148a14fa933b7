"""A display table: formatted cells, column alignment, and which columns are names.

The one shape a report section returns (perfkit.report.sections) and both outputs read:
a notebook shows `frame` (a DataFrame of strings), the markdown report prints
`markdown()` (names as code spans, free text escaped). Formats nothing itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pandas as pd

from perfkit.report.markdown import md_code, md_text

_RULES = {"l": "---", "r": "---:", "c": ":---:"}


class Marked(str):
    """A cell whose markdown differs from its text (e.g. a list of code spans)."""

    markdown: str

    def __new__(cls, text: str, markdown: str) -> Marked:
        cell = super().__new__(cls, text)
        cell.markdown = markdown
        return cell


@dataclass(frozen=True)
class DisplayTable:
    """Rows of formatted cells; `align` has one letter per column: l, r or c."""

    frame: pd.DataFrame
    align: str
    code: frozenset[str] = field(default_factory=frozenset)  # names: code spans
    text: frozenset[str] = field(default_factory=frozenset)  # free text: escaped

    def __post_init__(self) -> None:
        if len(self.align) != len(self.frame.columns):
            raise ValueError(f"align {self.align!r} does not fit {list(self.frame.columns)}")

    def __len__(self) -> int:
        return len(self.frame)

    def __iter__(self) -> Iterator[dict[str, str]]:
        return iter(self.frame.to_dict("records"))

    def _cell(self, column: str, value: object) -> str:
        if isinstance(value, Marked):
            return value.markdown
        if column in self.code:
            return md_code(value)
        if column in self.text:
            return md_text(value)
        return str(value)

    def markdown(self) -> str:
        """The table in GitHub markdown, one line per row, no trailing newline."""
        header = "| " + " | ".join(self.frame.columns) + " |"
        lines = [header.replace("|  |", "| |"), "|" + "|".join(_RULES[a] for a in self.align) + "|"]
        for row in self.frame.itertuples(index=False):
            cells = [self._cell(c, v) for c, v in zip(self.frame.columns, row, strict=True)]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return self.frame.to_html(index=False)
