"""The HTML report in a real browser: headless Chromium loads it from disk and a probe
script reports whether every figure decoded and takes space on the page, and whether
names like <genexpr> stayed text."""

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
PROBE = """<script>
window.addEventListener("load", () => {
  const images = [...document.images].map((img) => {
    const box = img.getBoundingClientRect();
    return {alt: img.alt, complete: img.complete, natural_width: img.naturalWidth,
            natural_height: img.naturalHeight, width: box.width, height: box.height,
            displayed: img.offsetParent !== null};
  });
  const tags = document.querySelectorAll("lambda, genexpr, module, listcomp").length;
  const probe = document.createElement("pre");
  probe.id = "perfkit-probe";
  probe.textContent = JSON.stringify({images: images, name_tags: tags,
                                      text: document.body.innerText.includes("<genexpr>")});
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
