"""Markdown for the report: code spans that keep names like ``<lambda>`` as text, and the
markdown -> self-contained HTML conversion (mistune, figures embedded as data URIs).

Pure text in, text out, except that HTML conversion reads the figure files it embeds.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from urllib.parse import unquote

import mistune

_IMAGE_TYPES = {".png": "image/png", ".svg": "image/svg+xml", ".jpg": "image/jpeg"}


def md_code(text: object) -> str:
    """`text` as an inline code span, safe inside a table cell (``|`` escaped).

    Inside a code span ``<lambda>`` is literal text, not an HTML tag, both on GitHub
    and in the HTML export.
    """
    value = " ".join(str(text).split()).replace("|", "\\|")
    longest = max((len(m) for m in re.findall(r"`+", value)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def md_text(text: object) -> str:
    """Plain text for a markdown table cell or paragraph: HTML-significant and markdown
    characters escaped, so a name never turns into a tag, link or emphasis."""
    value = " ".join(str(text).split())
    return re.sub(r"([\\`*_\[\]|#<>&])", r"\\\1", value)


class _EmbeddingRenderer(mistune.HTMLRenderer):
    """Images under the report directory become data URIs: one file to share."""

    def __init__(self, base_dir: Path) -> None:
        super().__init__(escape=True)
        self.base_dir = base_dir

    def image(self, text: str, url: str, title: str | None = None) -> str:
        path = (self.base_dir / unquote(url)).resolve()
        media = _IMAGE_TYPES.get(path.suffix.lower())
        if media and path.is_file() and self.base_dir.resolve() in path.parents:
            url = f"data:{media};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"
        return super().image(text, url, title)


def markdown_to_html(text: str, base_dir: Path) -> str:
    """The HTML body of a markdown document; raw HTML in the markdown is escaped."""
    convert = mistune.create_markdown(
        renderer=_EmbeddingRenderer(Path(base_dir)), plugins=["table", "strikethrough"]
    )
    return str(convert(text))
