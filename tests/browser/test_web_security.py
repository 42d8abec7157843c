"""The web app's defences in a real browser: a cross-site form cannot act for a signed-in
user (SameSite=Strict cookie and the CSRF token), a planted session cookie is replaced at
sign-in, a plain user's direct URLs to another workspace's Resource or another user's
query history are refused as the API refuses them, and no page holds a secret value.

The attacker's page is served by a second HTTP server on another host name
(``localhost`` against the app's ``127.0.0.1``: another site for the browser).
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.interfaces.conftest import free_port
from tests.web.web_browser import Viewer, browser_tools, chromium
from tests.web.web_support import PLAIN_USER, SECRET_VALUES, WebPlatform, web_platform

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
FINANCE_PAGE = "/operations/resources/secret/finance-db?workspace=finance"
ATTACK = """<!DOCTYPE html><html><body>
<form id="f" method="post" action="{app}/workbench/run">
<input name="sql" value="SELECT * FROM lakehouse.shop.customers_360">
<input name="csrf_token" value="guessed"></form>
<form id="g" method="post" action="{app}/logout" target="out"></form>
<iframe name="out"></iframe>
<script>document.getElementById('g').submit();
setTimeout(function () {{ document.getElementById('f').submit(); }}, 300);</script>
</body></html>"""


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebPlatform]:
    browser_tools()
    with web_platform(tmp_path_factory.mktemp("web-security")) as running:
        yield running


@pytest.fixture(scope="module")
def browser(platform: WebPlatform) -> Iterator[Any]:
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def attacker(platform: WebPlatform) -> Iterator[str]:
    page = ATTACK.format(app=platform.url).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{port}/"
    server.shutdown()


def test_a_cross_site_form_cannot_act_for_the_user(
    platform: WebPlatform,
    browser: Any,
    attacker: str,
    record_property: Callable[[str, object], None],
) -> None:
    viewer = Viewer(browser, platform.url, record_property)
    try:
        viewer.sign_in(platform.keys[PLAIN_USER], "/workbench")
        before = viewer.cookie("dataos_session")
        posts: list[tuple[str, int]] = []
        viewer.page.on(
            "response",
            lambda r: posts.append((r.url, r.status)) if r.request.method == "POST" else None,
        )
        viewer.page.goto(attacker)
        viewer.page.wait_for_url(lambda url: "/login" in url or "/workbench/run" in url)
        viewer.page.wait_for_load_state()
        viewer.shot("security-cross-site")
        # No session cookie travelled with the cross-site posts: both met the sign-in
        # redirect, nothing ran, nobody was signed out.
        assert posts and all(status == 303 for _, status in posts), posts
        assert viewer.cookie("dataos_session") == before
        viewer.goto("/workbench")
        assert viewer.page.get_by_test_id("user").inner_text() == PLAIN_USER
    finally:
        viewer.close()


def test_a_planted_session_cookie_is_replaced_at_sign_in(
    platform: WebPlatform, browser: Any, record_property: Callable[[str, object], None]
) -> None:
    planted_by = Viewer(browser, platform.url, record_property)
    viewer = Viewer(browser, platform.url, record_property)
    try:
        planted_by.sign_in(platform.keys[PLAIN_USER])
        planted = planted_by.cookie("dataos_session")
        assert planted is not None
        viewer.context.add_cookies([{**planted, "value": planted["value"]}])
        viewer.goto("/login")
        viewer.page.get_by_label("API key").fill(platform.keys["operator"])
        viewer.page.get_by_role("button", name="Sign in").click()
        viewer.page.wait_for_url(f"{platform.url}/")
        fresh = viewer.cookie("dataos_session")
        assert fresh is not None and fresh["value"] != planted["value"]
        assert viewer.page.get_by_test_id("user").inner_text() == "dataos-operator"
    finally:
        planted_by.close()
        viewer.close()


def test_direct_urls_are_refused_and_no_page_holds_a_secret(
    platform: WebPlatform, browser: Any, record_property: Callable[[str, object], None]
) -> None:
    viewer = Viewer(browser, platform.url, record_property)
    try:
        viewer.sign_in(platform.keys[PLAIN_USER])
        refused = viewer.goto(FINANCE_PAGE)
        assert refused.status == 403
        viewer.page.get_by_role("alert").get_by_text("may not read").wait_for()
        viewer.shot("security-refused")
        assert viewer.goto("/workbench/history?user=dataos-operator").status == 403
        assert viewer.goto("/operations?workspace=finance").status == 403
        pages = [
            "/",
            "/workbench",
            "/workbench/history",
            "/operations",
            "/operations/incidents",
            "/operations/resources/instance-secret/ops-token",
            "/operations/resources/depot/lakehouse",
            FINANCE_PAGE,
        ]
        for path in pages:
            viewer.goto(path)
            viewer.page.wait_for_load_state("networkidle")
            html = viewer.page.content()
            assert not [s for s in SECRET_VALUES if s in html], path
    finally:
        viewer.close()
