"""Headless Chromium (Debian's /usr/bin/chromium) driven by Playwright, for browser tests."""
from __future__ import annotations

import shutil
from contextlib import contextmanager

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Flags for a closed network: no background connections, no GPU, no first-run dialogs.
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


@contextmanager
def chromium_page(width: int = 1400, height: int = 900):
    """A fresh page in headless Chromium; fails saying what to install when Chromium is missing."""
    if not shutil.which("chromium"):
        pytest.fail("the browser tests need Chromium: install it (Debian/Ubuntu: sudo apt install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield browser.new_page(viewport={"width": width, "height": height})
        finally:
            browser.close()
