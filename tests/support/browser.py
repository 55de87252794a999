"""Headless Chromium (Debian's /usr/bin/chromium) driven by Playwright, for browser tests."""
from __future__ import annotations

import shutil
import time
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


NEWS_PROMPT = "official Jupyter news"   # JupyterLab's first-start question, unless the settings answer it


def asks_about_news(page, seconds: float = 10) -> bool:
    """Whether JupyterLab shows its question about Jupyter news within ``seconds`` (call it once
    the page has loaded: without the course's settings the question comes within a second or two)."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        if page.get_by_text(NEWS_PROMPT).count():
            return True
        time.sleep(0.5)
    return False
