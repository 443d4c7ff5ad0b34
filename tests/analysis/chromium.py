"""Headless Chromium for the report tests: a screenshot and the layout of the first screen.

Screenshots are test artefacts: each is saved in pytest's tmp path and copied to
``$TEST_ARTEFACTS`` (default ``reports/test-artefacts/``, ignored by git).
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
SKIP_REASON = "/usr/bin/chromium not installed (the lead decides whether to add it)"
ARTEFACTS = Path(
    os.environ.get(
        "TEST_ARTEFACTS", Path(__file__).resolve().parents[2] / "reports" / "test-artefacts"
    )
)
SCREEN = (1280, 900)  # a laptop's first screen, CSS pixels
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--hide-scrollbars",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    f"--window-size={SCREEN[0]},{SCREEN[1]}",
]
PROBE = """<script>
(() => {
  const top = (el) => Math.round(el.getBoundingClientRect().top + window.scrollY);
  const out = {
    screen: window.innerHeight,
    width: window.innerWidth,
    headings: [...document.querySelectorAll('h1,h2,h3')].map((h) => [h.textContent, top(h)]),
    nav: document.querySelector('nav') ? top(document.querySelector('nav')) : null,
    tables: [...document.querySelectorAll('table')].map((t) => top(t)),
    images: [...document.querySelectorAll('img')].map((i) => top(i)),
  };
  const pre = document.createElement('pre');
  pre.id = 'layout-probe';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>"""


def run(args: list[str], profile: Path) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


def screenshot(page: Path, out: Path, profile: Path) -> Path:
    """The first screen of ``page`` as a PNG at ``out``, also copied to the artefacts folder."""
    run([f"--screenshot={out}", page.as_uri()], profile)
    assert out.exists() and out.stat().st_size > 10_000, "no screenshot written"
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(out, ARTEFACTS / out.name)
    return out


def layout(page: Path, work: Path) -> dict:
    """Where headings, tables and images lie once Chromium laid the page out (CSS px)."""
    probe = work / "layout_probe.html"
    probe.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    dom = run(["--dump-dom", probe.as_uri()], work / "profile").stdout
    found = re.search(r'<pre id="layout-probe">(.*?)</pre>', dom, re.S)
    assert found, "the layout probe did not run"
    return json.loads(html.unescape(found.group(1)))
