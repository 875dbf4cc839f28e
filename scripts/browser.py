"""Headless Chromium for the page's tests and screenshots: Debian's browser, driven by Playwright.

Playwright's own browser downloads are never used (`playwright install` is not part of the
setup): the Makefile installs Debian's `chromium` and Playwright launches that executable.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
# No sandbox: tests run as root in containers, where Chromium's sandbox cannot start.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]


def find_chromium() -> Path | None:
    """The Chromium executable to drive (CUTOUT_CHROMIUM overrides), or None."""
    override = os.environ.get("CUTOUT_CHROMIUM")
    if override:
        return Path(override) if Path(override).is_file() else None
    for candidate in (*CHROMIUM_CANDIDATES, shutil.which("chromium") or ""):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


@contextmanager
def chromium(executable: Path) -> Iterator[Any]:
    """A headless Chromium browser (Playwright's Browser object) for the block's duration."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(executable), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()
