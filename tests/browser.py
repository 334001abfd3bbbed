"""Headless Chromium for the tests that look at a page the way a user does.

Debian's Chromium at /usr/bin/chromium, driven by Playwright (its own browser download does not
work on this machine); the flags keep Chromium off the network. Tests using it are skipped with
the install instruction where Chromium is absent.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Chromium not installed at /usr/bin/chromium (apt-get install -y chromium; see README)")


@contextlib.contextmanager
def opened(path: Path):
    """``(page, requested_urls)`` of ``path`` loaded in headless Chromium."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page()
            requested: list[str] = []
            page.on("request", lambda r: requested.append(r.url))
            page.goto(Path(path).as_uri())
            page.wait_for_load_state("load")
            yield page, requested
        finally:
            browser.close()
