"""Print HTML to PDF and PNG with headless Chromium (Debian's ``chromium`` package).

Why Chromium and not WeasyPrint: WeasyPrint needs Pango and its libraries from the system
(and a wheel of its own), while the web app's browser tests already need Chromium on every
developer's and CI machine (``make chromium``), so the cards add no new system dependency.
Chromium also draws the inline SVG charts and CSS grid exactly as the web page and the
self-contained HTML show them, so the PDF, the PNG and the HTML cannot drift apart.

The browser runs as a plain subprocess (``--headless --print-to-pdf`` / ``--screenshot``)
on a temporary file: no Python browser driver is needed at run time. The page's size is
the CSS ``@page`` size of the card's HTML. Without a browser the PDF and PNG exports stop
with a :class:`BrowserMissing` error that says how to install one; the HTML, Markdown, JSON
and CSV exports need none. ``PERSONIFY_CHROMIUM`` names a Chromium binary explicitly.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from personify.errors import WorkspaceError

__all__ = ["BrowserMissing", "find_chromium", "html_to_pdf", "html_to_png"]

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
INSTALL_HINT = (
    "the PDF and PNG cards are printed by headless Chromium, and none was found: install "
    "Debian's package (`apt-get install chromium`, or `make chromium`), or set "
    "PERSONIFY_CHROMIUM to a Chromium or Chrome binary; `--format html` needs no browser"
)
FLAGS = (
    "--headless",
    "--no-sandbox",  # CI and containers run as root, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-extensions",
    "--disable-background-networking",
    "--no-first-run",
    "--hide-scrollbars",
    "--mute-audio",
    "--blink-settings=imagesEnabled=true",
)
TIMEOUT = 120


class BrowserMissing(WorkspaceError):
    """No Chromium to print the cards with."""


def find_chromium() -> str:
    explicit = os.environ.get("PERSONIFY_CHROMIUM")
    if explicit:
        if not Path(explicit).exists():
            raise BrowserMissing(f"PERSONIFY_CHROMIUM={explicit} does not exist; " + INSTALL_HINT)
        return explicit
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    raise BrowserMissing(INSTALL_HINT)


def _run(args: list[str], out: Path) -> bytes:
    with tempfile.TemporaryDirectory(prefix="personify-chromium-") as profile:
        cmd = [find_chromium(), *FLAGS, f"--user-data-dir={profile}", *args]
        try:
            done = subprocess.run(
                cmd, capture_output=True, timeout=TIMEOUT, check=False, stdin=subprocess.DEVNULL
            )
        except subprocess.TimeoutExpired as exc:
            raise WorkspaceError(f"Chromium did not finish within {TIMEOUT} s") from exc
        if not out.exists() or out.stat().st_size == 0:
            tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
            raise WorkspaceError(f"Chromium printed nothing (exit {done.returncode}): {tail}")
        return out.read_bytes()


def html_to_pdf(html: str) -> bytes:
    """The page printed to PDF at its CSS ``@page`` size, backgrounds included."""
    with tempfile.TemporaryDirectory(prefix="personify-print-") as tmp:
        page, out = Path(tmp) / "card.html", Path(tmp) / "card.pdf"
        page.write_text(html, encoding="utf-8")
        return _run(
            ["--no-pdf-header-footer", f"--print-to-pdf={out}", page.as_uri()],
            out,
        )


def html_to_png(html: str, *, width_px: int, height_px: int, scale: float = 1.0) -> bytes:
    """A screenshot of the page's first ``width_px`` x ``height_px`` CSS pixels."""
    with tempfile.TemporaryDirectory(prefix="personify-print-") as tmp:
        page, out = Path(tmp) / "card.html", Path(tmp) / "card.png"
        page.write_text(html, encoding="utf-8")
        return _run(
            [
                f"--window-size={width_px},{height_px}",
                f"--force-device-scale-factor={scale:g}",
                f"--screenshot={out}",
                page.as_uri(),
            ],
            out,
        )
