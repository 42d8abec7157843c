"""A Service in Operations, in a real browser against the real embedded supervisor: its
page shows the replica table (replica, state, restarts, port, started, last exit) as
``get runtime -t service`` reports it, and a replica's log, followed: a replica stopped
behind the page's back shows its last words and its restart without a reload. A plain
user who may read the Service but not act as the identity it runs as sees the replicas
and is refused the log (the direct fragment URL too). axe-core finds no serious or critical
violation on the page (as ``test_web_accessibility`` checks the main pages).

The platform: ``tests/web/web_support``'s API server (it runs the supervisor) and the
Service ``greeter``: two replicas of the demo hello server (``dataos_defs.demo.services
.hello``, which prints ``listening on ...`` when it starts and ``stopped`` on SIGTERM).
Screenshots: ``artifacts/web-operations-service*.png``.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from dataos_defs.api.client import DataosClient
from tests.browser.test_web_accessibility import blocking_violations, describe
from tests.web.web_browser import Viewer, browser_tools, chromium
from tests.web.web_support import PLAIN_USER, WebPlatform, signed_in, web_platform

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
SERVICE = {
    "name": "greeter",
    "version": "v1",
    "type": "service",
    "service": {
        "replicas": 2,
        "servicePort": 8080,
        "stack": "container",
        "compute": "runnable-default",
        "stackSpec": {
            "image": "python:3.11",
            "command": [sys.executable, "-m", "dataos_defs.demo.services.hello"],
        },
    },
}
PAGE = "/operations/resources/service/greeter?workspace=public"


def runtime(platform: WebPlatform) -> dict[str, Any]:
    with DataosClient(platform.url, api_key=platform.keys["operator"]) as admin:
        found: dict[str, Any] = admin.workload_runtime("service", "greeter", "public")
    return found


def eventually(what: str, check: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.25)


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebPlatform]:
    browser_tools()
    with web_platform(tmp_path_factory.mktemp("web-services")) as running:
        with DataosClient(running.url, api_key=running.keys["operator"]) as admin:
            admin.apply([{"manifest": SERVICE}], "public")
        deadline = time.monotonic() + 60
        while runtime(running)["runtime"] != "running:2":
            assert time.monotonic() < deadline, runtime(running)
            time.sleep(0.2)
        yield running


def test_the_operator_sees_the_replicas_and_follows_a_log(
    platform: WebPlatform, record_property: Callable[[str, object], None]
) -> None:
    before = {r["name"]: r for r in runtime(platform)["replicas"]}
    assert sorted(before) == ["greeter-0", "greeter-1"]
    with chromium() as browser:
        viewer = Viewer(browser, platform.url, record_property)
        try:
            viewer.sign_in(platform.keys["operator"], PAGE)
            table = viewer.page.get_by_role("table", name="Replicas")
            for name, replica in before.items():
                row = table.get_by_role("row").filter(has_text=name)
                row.wait_for()
                text = row.inner_text()
                assert "ready" in text and f"http {replica['ports']['http']}" in text
            viewer.shot("operations-service")
            logs = viewer.page.locator("#replica-logs")
            logs.get_by_text("listening on 127.0.0.1").wait_for()
            table.get_by_role("button", name="Logs of greeter-1").click()
            logs.get_by_text("Replica greeter-1").wait_for()
            os.kill(int(before["greeter-1"]["pid"]), signal.SIGTERM)
            lines = logs.locator("pre.replica-log")
            eventually("the log's last words", lambda: "stopped" in lines.inner_text())
            restarts = table.get_by_role("row").filter(has_text="greeter-1").get_by_role("cell")
            eventually("the restart in the table", lambda: restarts.nth(2).inner_text() == "1")
            viewer.shot("operations-service-followed")
        finally:
            viewer.close()


def test_the_service_page_has_no_serious_accessibility_violation(platform: WebPlatform) -> None:
    """axe-core is injected as a script, so this context bypasses the app's CSP (as
    ``test_web_accessibility`` does); the page is otherwise the operator's."""
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, bypass_csp=True)
        try:
            page = context.new_page()
            page.set_default_timeout(30_000)
            page.goto(f"{platform.url}/login?next={quote(PAGE, safe='')}")
            page.fill("#api_key", platform.keys["operator"])
            page.click("button[type=submit]")
            page.locator("#replica-logs pre.replica-log").wait_for()
            page.get_by_role("table", name="Replicas").wait_for()
            violations = blocking_violations(page)
            assert not violations, describe(violations)
        finally:
            context.close()


def test_a_plain_user_sees_replicas_but_not_the_log(
    platform: WebPlatform, record_property: Callable[[str, object], None]
) -> None:
    with chromium() as browser:
        viewer = Viewer(browser, platform.url, record_property)
        try:
            viewer.sign_in(platform.keys[PLAIN_USER], PAGE)
            table = viewer.page.get_by_role("table", name="Replicas")
            table.get_by_role("row").filter(has_text="greeter-0").wait_for()
            alert = viewer.page.locator("#replica-logs").get_by_role("alert")
            alert.wait_for()
            assert "may not act as" in alert.inner_text()
            assert "listening on" not in viewer.page.content()
            direct = viewer.page.request.get(
                f"{platform.url}/operations/resources/service/greeter/replica-logs"
                "?workspace=public&replica=greeter-0",
                headers={"X-Fragment": "1"},
            )
            assert direct.status == 403
            assert "listening on" not in direct.text()
            viewer.shot("operations-service-log-refused")
        finally:
            viewer.close()


def test_replica_fragments_need_a_session_and_a_workload(platform: WebPlatform) -> None:
    table = "/operations/resources/{kind}/greeter/replicas?workspace=public"
    with httpx.Client(base_url=platform.url) as anonymous:
        answer = anonymous.get(table.format(kind="service"), headers={"X-Fragment": "1"})
        assert answer.status_code == 401
    with signed_in(platform, "operator") as operator:
        for kind in ("workflow", "depot", "x" * 300):
            answer = operator.get(table.format(kind=kind), headers={"X-Fragment": "1"})
            assert answer.status_code == 404, kind
        missing = operator.get(
            "/operations/resources/service/greeter/replica-logs?workspace=public&replica=../x",
            headers={"X-Fragment": "1"},
        )
        assert missing.status_code == 404
