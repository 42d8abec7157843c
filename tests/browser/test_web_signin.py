"""Signing in to the web app in a real browser, as a plain user and as the operator, and
signing out: the sign-in page, the session cookie's flags, the home page's links, the
keyboard (skip link, focus), and that a signed-out browser is sent back to sign in.

The platform is ``tests/web/web_support``'s real API server (no Dagster needed); the
browser is Debian's Chromium through Playwright (``tests/web/web_browser``). Screenshots
go to ``artifacts/web-*.png`` and are listed at the end of the run.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.web.web_browser import Viewer, browser_tools, chromium
from tests.web.web_support import PLAIN_USER, WebPlatform, web_platform

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebPlatform]:
    browser_tools()
    with web_platform(tmp_path_factory.mktemp("web-signin")) as running:
        yield running


@pytest.fixture(scope="module")
def browser(platform: WebPlatform) -> Iterator[Any]:
    with chromium() as launched:
        yield launched


def test_a_plain_user_signs_in_reaches_every_room_and_signs_out(
    platform: WebPlatform, browser: Any, record_property: Callable[[str, object], None]
) -> None:
    viewer = Viewer(browser, platform.url, record_property)
    try:
        viewer.goto("/workbench")
        viewer.page.wait_for_url(re.compile(r"/login\?next=%2Fworkbench"))
        viewer.page.get_by_text("Sign in to DataOS").wait_for()
        viewer.shot("sign-in")
        # The key field has focus; typing and Enter sign in (no mouse needed).
        viewer.page.keyboard.type(platform.keys[PLAIN_USER])
        viewer.page.keyboard.press("Enter")
        viewer.page.wait_for_url(re.compile(r"/workbench$"))
        session = viewer.cookie("dataos_session")
        assert session is not None
        assert session["httpOnly"] and session["sameSite"] == "Strict" and session["path"] == "/"
        assert platform.keys[PLAIN_USER] not in session["value"]
        door = viewer.cookie("dataos_dagster_session")
        assert door is not None and door["path"] == "/dagster"
        viewer.goto("/")
        assert viewer.page.get_by_test_id("user").inner_text() == PLAIN_USER
        for room in ("Workbench", "Catalog", "Operations"):
            link = viewer.page.get_by_role("navigation", name="Main").get_by_role("link", name=room)
            assert link.get_attribute("href") == f"/{room.lower()}"
        viewer.shot("home")
        # Keyboard: the first Tab reaches the skip link, which moves focus to <main>.
        viewer.page.keyboard.press("Tab")
        assert viewer.page.evaluate("document.activeElement.textContent") == "Skip to content"
        viewer.page.keyboard.press("Enter")
        assert viewer.page.evaluate("document.activeElement.id") == "main"
        viewer.page.get_by_role("link", name="Operations").first.click()
        viewer.page.wait_for_url(re.compile(r"/operations$"))
        viewer.page.get_by_role("heading", name="Operations").wait_for()
        viewer.sign_out()
        assert viewer.cookie("dataos_session") is None
        assert viewer.cookie("dataos_dagster_session") is None
        viewer.page.get_by_text("You are signed out").wait_for()
        viewer.goto("/operations")
        viewer.page.wait_for_url(re.compile(r"/login\?next=%2Foperations"))
    finally:
        viewer.close()


def test_the_operator_signs_in_and_a_wrong_key_is_refused(
    platform: WebPlatform, browser: Any, record_property: Callable[[str, object], None]
) -> None:
    viewer = Viewer(browser, platform.url, record_property)
    try:
        viewer.goto("/login")
        viewer.page.get_by_label("API key").fill("dok_wrong_key")
        viewer.page.get_by_role("button", name="Sign in").click()
        viewer.page.get_by_role("alert").get_by_text("not valid").wait_for()
        viewer.shot("sign-in-refused")
        viewer.sign_in(platform.keys["operator"], "/operations")
        assert viewer.page.get_by_test_id("user").inner_text() == "dataos-operator"
        viewer.shot("operations-operator")
        viewer.sign_out()
    finally:
        viewer.close()
