"""Ten cases of Python-Markdown (whichever release is first on sys.path): `python -m
perfkit.selfbench review`'s workload, a review of 3.3.7 -> 3.4.1."""

import perfkit

PARA = "Some *emphasis*, some **strong** text, a [link](http://example.com) and `code`.\n\n"
HTML = '<div class="note">\n<p>Raw <b>HTML</b> block</p>\n</div>\n\n'
LIST = "".join(f"- item {i} with _words_\n" for i in range(10)) + "\n"
TABLE = (
    "| a | b | c |\n|---|:-:|--:|\n"
    + "".join(f"| {i} | *x{i}* | `y` |\n" for i in range(20))
    + "\n"
)
FENCE = "```python\ndef f(x):\n    return x * 2\n```\n\n"
HEADS = "".join(f"{'#' * (1 + i % 4)} Heading {i}\n\ntext {i}\n\n" for i in range(30))
NOTES = "".join(f"Claim {i}[^{i}].\n\n[^{i}]: Source {i}.\n\n" for i in range(30))
INLINE = ("a_b*c*d **e** `f` [g](h) <i> &amp; \\* " * 40 + "\n\n") * 5
QUOTE = "> quoted *text*\n> more\n>\n> > nested\n\n" * 40
CODE = "    indented code line\n    another one\n\n" * 60


def _convert(text, **kwargs):
    import markdown

    return lambda: markdown.markdown(text, **kwargs)


@perfkit.benchmark()
def prose():
    return _convert(PARA * 60 + LIST * 5)


@perfkit.benchmark()
def raw_html():
    return _convert((PARA + HTML) * 40)


@perfkit.benchmark()
def tables():
    return _convert(TABLE * 10, extensions=["tables"])


@perfkit.benchmark()
def fenced_code():
    return _convert(FENCE * 60, extensions=["fenced_code"])


@perfkit.benchmark()
def toc():
    return _convert(HEADS * 3, extensions=["toc"])


@perfkit.benchmark()
def footnotes():
    return _convert(NOTES * 2, extensions=["footnotes"])


@perfkit.benchmark()
def inline_heavy():
    return _convert(INLINE)


@perfkit.benchmark()
def blockquotes():
    return _convert(QUOTE)


@perfkit.benchmark()
def indented_code():
    return _convert(CODE)


@perfkit.benchmark()
def new_instance():
    import markdown

    return lambda: markdown.Markdown(extensions=["extra", "toc"])
