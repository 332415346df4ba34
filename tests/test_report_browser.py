"""The HTML report in a real headless Chromium: it renders, every figure decodes, nothing errs or loads from outside.

Chromium comes from Debian (``scripts/ci-chromium.sh`` installs it in CI). In
CI (``CI`` set) a missing browser fails the test; elsewhere it skips.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from patchbench.reporting import report
from tests.test_report_seed import seed_labels, seed_summary

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
]
# Injected into a copy of the report: reports failed loads, undecodable images and any fetched resource.
PROBE = """<script>
window.addEventListener("error", function (e) {
  if (e.target && e.target !== window)
    console.error("resource failed: " + (e.target.src || e.target.href || e.target.tagName));
}, true);
window.addEventListener("load", function () {
  var images = document.images, broken = 0;
  for (var i = 0; i < images.length; i++) {
    if (!images[i].complete || images[i].naturalWidth === 0) {
      broken++;
      console.error("image not rendered: " + images[i].alt);
    }
  }
  performance.getEntriesByType("resource").forEach(function (r) { console.error("external resource: " + r.name); });
  console.log("probe done: " + images.length + " images, " + broken + " broken");
});
</script>"""
CONSOLE = re.compile(r":CONSOLE[^\]]*\] \"(?P<message>.*)\", source: ")


def chromium() -> str:
    for name in BROWSERS:
        if path := shutil.which(name):
            return path
    if os.environ.get("CI"):
        pytest.fail("Chromium is not installed: CI must run scripts/ci-chromium.sh first")
    pytest.skip("Chromium is not installed (scripts/ci-chromium.sh installs it)")


def run_browser(page: Path, *args: str) -> list[str]:
    """Open ``page``; return its console messages. Fails if the browser itself fails."""
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.run(
            [chromium(), *FLAGS, f"--user-data-dir={profile}", *args, page.resolve().as_uri()],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return [m.group("message") for m in CONSOLE.finditer(proc.stderr)]


@pytest.fixture(scope="module")
def html(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("browser-report")
    return report.render(seed_summary(), out, labels=seed_labels(), title="Seed")[1]


def test_screenshot_of_the_report_without_console_errors(html: Path, tmp_path: Path):
    shot = tmp_path / "report.png"
    messages = run_browser(html, f"--screenshot={shot}", "--window-size=1280,4000")
    assert messages == []
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1280, 4000)
    assert len(data) > 100_000  # tables and figures, not a blank page


def test_every_figure_decodes_and_nothing_is_fetched(html: Path, tmp_path: Path):
    probed = tmp_path / "probed.html"
    probed.write_text(html.read_text().replace("<head>", "<head>" + PROBE, 1))
    messages = run_browser(probed, f"--screenshot={tmp_path / 'probed.png'}", "--window-size=1280,2000")
    assert messages == ["probe done: 3 images, 0 broken"], messages
