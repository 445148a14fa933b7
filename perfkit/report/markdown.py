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

_FOLDING = re.compile(r"(?:\s*(?:<details>|</details>|<summary>[^<>]*</summary>))+")
_IMAGE_TYPES = {".png": "image/png", ".svg": "image/svg+xml", ".jpg": "image/jpeg"}
# A PNG wider than the page's text column is shown at its own size in a horizontally
# scrolling box (class "wide-figure"), never shrunk until its labels can't be read.
PAGE_WIDTH_PX = 1000


def png_width(data: bytes) -> int | None:
    """Pixel width of a PNG from its IHDR chunk (None when `data` is not a PNG)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        return None
    return int.from_bytes(data[16:20], "big")


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

    def block_html(self, html: str) -> str:
        """Raw HTML stays escaped, except the folding of a long table: ``<details>``,
        ``</details>`` and a ``<summary>`` of plain text (the report writes them)."""
        if _FOLDING.fullmatch(html.strip()):
            return html.strip() + "\n"
        return super().block_html(html)

    def image(self, text: str, url: str, title: str | None = None) -> str:
        path = (self.base_dir / unquote(url)).resolve()
        media = _IMAGE_TYPES.get(path.suffix.lower())
        width = None
        if media and path.is_file() and self.base_dir.resolve() in path.parents:
            data = path.read_bytes()
            width = png_width(data)
            url = f"data:{media};base64,{base64.b64encode(data).decode('ascii')}"
        tag = super().image(text, url, title)
        if width is None or width <= PAGE_WIDTH_PX:
            return tag
        # A span (display: block in the page's CSS): the image sits inside a <p>.
        tag = tag.replace("<img ", f'<img width="{width}" ', 1)
        return f'<span class="wide-figure">{tag}</span>'


def markdown_to_html(text: str, base_dir: Path) -> str:
    """The HTML body of a markdown document; raw HTML in the markdown is escaped (but for
    the folding tags of a long table)."""
    convert = mistune.create_markdown(
        renderer=_EmbeddingRenderer(Path(base_dir)), plugins=["table", "strikethrough"]
    )
    return str(convert(text))
