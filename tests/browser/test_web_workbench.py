"""The Workbench in a real browser: a governed query shows hashed e-mails with column types,
the Governance tab shows the rewritten SQL and the policies per column, a long query is
cancelled, results page forward, the history lists the query and a CSV downloads.

The platform is ``tests/web/web_support``'s API server over real Iceberg tables with the
example's policies; ``ana`` is a plain user. Screenshots: ``artifacts/web-workbench-*.png``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.web.web_browser import Viewer, browser_tools, chromium
from tests.web.web_support import (
    EVENTS,
    EVENTS_SQL,
    LONG_SQL,
    ORDERED,
    PLAIN_USER,
    WebPlatform,
    web_platform,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
CELLS = "() => [...document.querySelectorAll('#results tbody tr')].map(r => [...r.cells].map(c => c.textContent))"
HEADERS = "() => [...document.querySelectorAll('#results thead th')].map(h => h.textContent)"


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebPlatform]:
    browser_tools()
    with web_platform(tmp_path_factory.mktemp("web-workbench")) as running:
        yield running


@pytest.fixture(scope="module")
def ana(platform: WebPlatform, request: pytest.FixtureRequest) -> Iterator[Viewer]:
    with chromium() as browser:
        viewer = Viewer(browser, platform.url, lambda name, value: None)
        viewer.sign_in(platform.keys[PLAIN_USER], "/workbench")
        try:
            yield viewer
        finally:
            viewer.close()


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def run(viewer: Viewer, sql: str) -> None:
    """Type the statement and run it with Ctrl+Enter, as a keyboard user would."""
    editor = viewer.page.get_by_label("SQL")
    editor.fill(sql)
    editor.focus()
    viewer.page.keyboard.press("Control+Enter")


def test_a_governed_query_shows_hashed_emails_and_the_governance_tab(
    ana: Viewer, record_property: Callable[[str, object], None]
) -> None:
    ana.record = record_property
    run(ana, ORDERED)
    ana.page.locator("#results table.result").wait_for()
    assert ana.page.evaluate(HEADERS) == [
        "customer_idbigint",
        "emailvarchar",
        "ageinteger",
        "countryvarchar",
    ]
    rows = ana.page.evaluate(CELLS)
    assert [r[1] for r in rows] == [sha256(f"{n}@example.com") for n in ("ada", "bob", "cy", "di")]
    assert "ada@example.com" not in ana.page.content()
    ana.shot("workbench-results")
    tab = ana.page.get_by_role("tab", name="Governance")
    tab.click()
    panel = ana.page.get_by_role("tabpanel")
    panel.get_by_text("shop-email-hash").wait_for()
    assert 'SHA256("email")' in panel.locator("pre").inner_text()
    assert panel.get_by_text("lakehouse.shop.customers_360.email").is_visible()
    ana.shot("workbench-governance")
    # Keyboard: the arrow keys move between the tabs.
    tab.focus()
    ana.page.keyboard.press("ArrowLeft")
    assert ana.page.get_by_role("tab", name="Results").get_attribute("aria-selected") == "true"


def test_a_long_query_is_cancelled(
    platform: WebPlatform, ana: Viewer, record_property: Callable[[str, object], None]
) -> None:
    """The cancel stops the statement on the engine: the Gateway's list of executing
    statements is empty again within a second and a half of the click. (The events table
    is read once first: loading a dataset into the engine is not what a cancel stops.)"""
    ana.record = record_property
    with gateway_api(platform, PLAIN_USER) as api:
        body = {"sql": "SELECT count(*) FROM lakehouse.shop.events"}
        assert api.post("/gateway/api/v1/query", json=body).status_code == 200
        run(ana, LONG_SQL)
        cancel = ana.page.get_by_role("button", name="Cancel")
        cancel.wait_for()
        ana.page.get_by_role("status").get_by_text("Running").wait_for()
        assert executing(api), "the statement is not executing on the engine"
        ana.shot("workbench-running")
        clicked = time.monotonic()
        cancel.click()
        ana.page.get_by_text("Cancelled after").wait_for()
        while executing(api):
            assert time.monotonic() - clicked < 30, "the engine never stopped the statement"
            time.sleep(0.02)
        assert time.monotonic() - clicked < 1.5
    ana.shot("workbench-cancelled")


def gateway_api(platform: WebPlatform, user: str) -> httpx.Client:
    headers = {"Authorization": f"Bearer {platform.keys[user]}"}
    return httpx.Client(base_url=platform.url, headers=headers, timeout=60)


def executing(api: httpx.Client) -> list[object]:
    """The caller's statements executing on an engine now (the Gateway's running view)."""
    answer = api.get("/gateway/api/v1/queries/running")
    assert answer.status_code == 200, answer.text
    found: list[object] = answer.json()
    return found


def test_results_page_forward_and_render_fast(
    ana: Viewer, record_property: Callable[[str, object], None]
) -> None:
    ana.record = record_property
    ana.page.get_by_label("Rows per page").select_option("1000")
    run(ana, EVENTS_SQL)
    ana.page.get_by_text(re.compile(r"Rows 1\u20131000")).wait_for()
    assert len(ana.page.evaluate(CELLS)) == 1000
    ana.page.get_by_role("button", name="Next page").click()
    ana.page.get_by_text(re.compile(r"Rows 1001\u20132000")).wait_for()
    assert ana.page.evaluate(CELLS)[0][0] == "1001"
    ana.shot("workbench-page-2")


def test_history_and_csv_download(
    ana: Viewer, record_property: Callable[[str, object], None]
) -> None:
    ana.record = record_property
    ana.page.get_by_label("SQL").fill(EVENTS_SQL)
    with ana.page.expect_download() as download_info:
        ana.page.get_by_role("button", name="Download CSV").click()
    download = download_info.value
    path = download.path()
    rows = list(csv.reader(io.StringIO(Path(path).read_text(encoding="utf-8"))))
    assert rows[0] == ["id", "kind", "amount"] and len(rows) == EVENTS + 1
    ana.page.get_by_role("link", name="Query history").click()
    ana.page.wait_for_url(re.compile(r"/workbench/history$"))
    table = ana.page.get_by_role("region", name="Queries")
    table.get_by_text("shop-email-hash").first.wait_for()
    users = {u.strip() for u in table.locator("tbody tr td:nth-child(2)").all_inner_texts()}
    assert users == {PLAIN_USER}
    ana.shot("workbench-history")
