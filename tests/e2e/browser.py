"""Chromium for the browser journeys: Debian's build (`make install` puts it at /usr/bin/chromium)
driven by Playwright for Python, every request the pages make recorded, screenshots kept under
`test-output/screenshots/` (or $PIXELKEEP_TEST_OUTPUT)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("PIXELKEEP_CHROMIUM") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}  # a phone's width: the app must be usable there


def screenshot_dir() -> Path:
    folder = Path(os.environ.get("PIXELKEEP_TEST_OUTPUT") or REPO / "test-output") / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def chromium_path() -> str | None:
    return CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")


class Browsing:
    """One browser context: its pages' requests and the screenshots taken, per journey."""

    def __init__(self, context: Any, name: str) -> None:
        self.context = context
        self.name = name
        self.requests: list[str] = []
        self.screenshots: list[Path] = []
        context.on("request", lambda request: self.requests.append(request.url))

    def origins(self) -> set[str]:
        return {f"{urlsplit(url).scheme}://{urlsplit(url).netloc}" for url in self.requests if url.startswith("http")}

    def shoot(self, page: Any, step: str) -> Path:
        path = screenshot_dir() / f"{self.name}-{len(self.screenshots) + 1:02d}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        self.screenshots.append(path)
        return path


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium, closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def browsing(browser: Any, name: str) -> Iterator[Browsing]:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        yield Browsing(context, name)
    finally:
        context.close()
