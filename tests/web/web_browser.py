"""Headless Debian Chromium driven by Playwright for the web app's browser tests.

As ``tests/browser/test_asset_graph.py`` does: ``/usr/bin/chromium`` through Playwright's
``executable_path`` (never ``playwright install``). A :class:`Viewer` is one browser context
(its own cookies) that collects uncaught page errors and keeps screenshots in
``artifacts/`` (git-ignored), recorded with ``record_property("screenshot", path)`` so the
browser tests' conftest lists them at the end of the run.
"""

from __future__ import annotations

import importlib.util
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.interfaces.conftest import ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "artifacts"
WAIT_MS = 30_000
LAPTOP = {"width": 1366, "height": 768}
INSTALL_HINT = (
    "install Debian's Chromium with `apt-get install -y chromium` and Playwright with "
    "`uv pip install --python .venv/bin/python playwright` (never `playwright install`)"
)


def browser_tools() -> None:
    """Fail (not skip) when Chromium or Playwright is missing: CI installs both."""
    missing = [
        name
        for name, present in (
            (str(CHROMIUM), CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)),
            ("the playwright Python package", importlib.util.find_spec("playwright") is not None),
        )
        if not present
    ]
    if missing:
        pytest.fail(f"missing {' and '.join(missing)}: {INSTALL_HINT}", pytrace=False)


@contextmanager
def chromium() -> Iterator[Any]:
    browser_tools()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, timeout=WAIT_MS
        )
        try:
            yield browser
        finally:
            browser.close()


class Viewer:
    """One browser context on the app at ``url``: its own cookies, its pages' errors."""

    def __init__(self, browser: Any, url: str, record: Callable[[str, object], None]) -> None:
        self.url = url
        self.record = record
        self.context = browser.new_context(viewport=LAPTOP, accept_downloads=True)
        self.page = self.context.new_page()
        self.page.set_default_timeout(WAIT_MS)
        self.errors: list[str] = []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def goto(self, path: str) -> Any:
        return self.page.goto(f"{self.url}{path}", wait_until="domcontentloaded")

    def sign_in(self, key: str, start: str = "/") -> None:
        """Open ``start``, land on the sign-in page, sign in with the form, come back."""
        self.goto(start)
        self.page.wait_for_url(re.compile(r"/login\?next="))
        self.page.get_by_label("API key").fill(key)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_url(re.compile(re.escape(start) + r"$"))

    def sign_out(self) -> None:
        self.page.get_by_role("button", name="Sign out").click()
        self.page.wait_for_url(re.compile(r"/login"))

    def shot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"web-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        self.record("screenshot", str(path))
        return path

    def cookie(self, name: str) -> dict[str, Any] | None:
        found = [c for c in self.context.cookies() if c["name"] == name]
        return found[0] if found else None

    def close(self) -> None:
        self.context.close()
        assert not self.errors, self.errors
