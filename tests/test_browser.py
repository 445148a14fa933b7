"""The HTML report in a real browser: headless Chromium loads it from disk and a probe
script reports whether every figure decoded and takes space on the page, whether
names like <genexpr> stayed text, and which characters of the page Chromium can only
draw as a missing-glyph box (the budget marks must not be among them)."""

from __future__ import annotations

import contextlib
import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from test_report import rendered_report

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
PROBE = r"""<script>
window.addEventListener("load", () => {
  const images = [...document.images].map((img) => {
    const box = img.getBoundingClientRect();
    return {alt: img.alt, complete: img.complete, natural_width: img.naturalWidth,
            natural_height: img.naturalHeight, width: box.width, height: box.height,
            displayed: img.offsetParent !== null};
  });
  const tags = document.querySelectorAll("lambda, genexpr, module, listcomp").length;
  // A character drawn exactly like a private-use code point (which no font has) is a box.
  const canvas = document.createElement("canvas");
  canvas.width = 48;
  canvas.height = 48;
  const ctx = canvas.getContext("2d", {willReadFrequently: true});
  const draw = (ch, font) => {
    ctx.clearRect(0, 0, 48, 48);
    ctx.font = font;
    ctx.textBaseline = "top";
    ctx.fillText(ch, 4, 4);
    return ctx.getImageData(0, 0, 48, 48).data.join(",");
  };
  const isBox = (ch, font) => draw(ch, font) === draw("\uE000", font);
  const chars = new Map();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const font = "32px " + getComputedStyle(walker.currentNode.parentElement).fontFamily;
    for (const ch of walker.currentNode.textContent) {
      if (ch.codePointAt(0) > 0x7f && !/\s/.test(ch)) chars.set(ch + "|" + font, [ch, font]);
    }
  }
  const boxes = [...new Set([...chars.values()].filter(([ch, font]) => isBox(ch, font))
                                                .map(([ch]) => ch))];
  const budgetCells = [...document.querySelectorAll("h2")]
    .filter((h) => h.textContent.trim() === "Budgets")
    .flatMap((h) => {
      let table = h.nextElementSibling;
      while (table && table.tagName !== "TABLE") table = table.nextElementSibling;
      return table ? [...table.querySelectorAll("tbody tr")].map((r) => r.lastElementChild.textContent.trim()) : [];
    });
  const probe = document.createElement("pre");
  probe.id = "perfkit-probe";
  probe.textContent = JSON.stringify({images: images, name_tags: tags,
                                      text: document.body.innerText.includes("<genexpr>"),
                                      boxes: boxes, budget_marks: budgetCells,
                                      emoji_box: isBox("\u2705", getComputedStyle(document.body).font)});
  document.body.appendChild(probe);
});
</script>"""


def _find_browser() -> str | None:
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's chromium; installed here when the machine allows (root with apt-get)."""
    found = _find_browser()
    if found is None and shutil.which("apt-get") and os.geteuid() == 0:
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            subprocess.run(
                ["apt-get", "install", "-y", "--no-install-recommends", "chromium"],
                capture_output=True,
                timeout=600,
                check=False,
            )
        found = _find_browser()
    if found is None:
        pytest.skip("no headless Chromium: install Debian's `chromium` (apt-get install chromium)")
    return found


def _load(browser: str, page: Path, profile_dir: Path) -> dict:
    done = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile_dir}",
            "--window-size=1200,3000",
            "--virtual-time-budget=10000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    match = re.search(r'<pre id="perfkit-probe">(.*?)</pre>', done.stdout, re.S)
    assert match, f"probe did not run (exit {done.returncode}): {done.stderr[-500:]}"
    return json.loads(html.unescape(match.group(1)))


def test_report_figures_are_visible_in_chromium(chromium, tmp_path_factory, tmp_path):
    report_dir = rendered_report(tmp_path_factory.getbasetemp() / "report-room")
    source = (report_dir / "performance_report.html").read_text(encoding="utf-8")
    # A copy elsewhere: the page must not need the figures directory beside it.
    page = tmp_path / "performance_report.html"
    page.write_text(source.replace("</body>", PROBE + "\n</body>"), encoding="utf-8")
    result = _load(chromium, page, tmp_path / "profile")
    images = result["images"]
    assert len(images) == len(list((report_dir / "figures").glob("*.png")))
    for image in images:
        assert image["complete"] and image["natural_width"] > 100, image
        assert image["displayed"] and image["width"] > 200 and image["height"] > 50, image
    assert result["name_tags"] == 0
    assert result["text"], "<genexpr> should show as text"


def test_report_text_and_budget_marks_render_in_chromium(chromium, tmp_path_factory, tmp_path):
    """No character of the report is drawn as a missing-glyph box, the budget marks included
    (✅/❌ were boxes in a Chromium without an emoji font)."""
    report_dir = rendered_report(tmp_path_factory.getbasetemp() / "report-room")
    source = (report_dir / "performance_report.html").read_text(encoding="utf-8")
    page = tmp_path / "performance_report.html"
    page.write_text(source.replace("</body>", PROBE + "\n</body>"), encoding="utf-8")
    result = _load(chromium, page, tmp_path / "profile")
    assert {"met", "missed"} <= set(result["budget_marks"]), result["budget_marks"]
    assert result["boxes"] == [], f"drawn as boxes: {result['boxes']}"
    no_emoji_font = (
        subprocess.run(
            ["fc-list", ":charset=2705", "family"], capture_output=True, text=True, check=False
        ).stdout.strip()
        == ""
    )
    if shutil.which("fc-list") and no_emoji_font:
        assert result["emoji_box"], "the probe must see ✅ as a box where no font has it"


WIDE_PROBE = """<script>
window.addEventListener("load", () => {
  const img = document.images[0];
  const box = img.getBoundingClientRect();
  const holder = img.closest(".wide-figure");
  const probe = document.createElement("pre");
  probe.id = "perfkit-probe";
  probe.textContent = JSON.stringify({
    natural_width: img.naturalWidth, width: box.width,
    in_scroller: holder !== null,
    scrolls: holder !== null && holder.scrollWidth > holder.clientWidth,
    page_width: document.documentElement.scrollWidth, window_width: window.innerWidth});
  document.body.appendChild(probe);
});
</script>"""
LABEL_POINTS = 6.5  # perfkit.render.graph_layout's node label size
FIGURE_DPI = 130  # perfkit.render.callgraph's savefig dpi


def test_a_wide_call_graph_keeps_readable_labels(chromium, tmp_path):
    """A call graph wider than the page is shown at its own size in a scrolling box: a
    label of 6.5 pt at 130 dpi stays ≥ 11 px on screen instead of shrinking to ~5 px."""
    from matplotlib.figure import Figure

    from perfkit.report.document import render_html

    figures = tmp_path / "report" / "figures"
    figures.mkdir(parents=True)
    fig = Figure(figsize=(20, 3))
    for i in range(12):
        fig.text(i / 12 + 0.01, 0.5, f"module.function_{i}", fontsize=LABEL_POINTS)
    fig.savefig(figures / "callgraph_wide.png", dpi=FIGURE_DPI)
    markdown = "# Report\n\n![call graph](figures/callgraph_wide.png)\n"
    page = tmp_path / "report" / "performance_report.html"
    source = render_html(markdown, page.parent, "wide")
    page.write_text(source.replace("</body>", WIDE_PROBE + "\n</body>"), encoding="utf-8")
    result = _load(chromium, page, tmp_path / "profile")
    assert result["natural_width"] == 20 * FIGURE_DPI
    assert result["in_scroller"] and result["scrolls"], result
    scale = result["width"] / result["natural_width"]
    label_px = LABEL_POINTS * FIGURE_DPI / 72 * scale
    assert label_px >= 11, result
    assert result["page_width"] <= result["window_width"], "the box scrolls, not the page"
