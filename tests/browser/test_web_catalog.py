"""The Catalog pages in a real browser: search, a dataset, its lineage graph and tags, and
a tag that changes what the Workbench shows.

The world is ``tests/web/catalog_support``'s: a real API server over real Iceberg tables
(the example's ``customers_360``, e-mails untagged at first), the example's policies, the
operator and ``ana`` (``roles:id:user``). Headless Debian Chromium, driven by Playwright,
signs in through the sign-in form, searches the catalog, opens ``customers_360``, its
lineage graph (datasets and the pipeline drawn in SVG) and a column's lineage on demand.
Ana runs a query in the Workbench and sees e-mails in clear; the operator tags ``email``
``PII.Email`` on the dataset page; ana runs the query again and sees sha256 hashes (the
example's ``shop-email-hash`` mask follows the catalog's tag). No uncaught error may occur
in a page. Screenshots go to ``artifacts/`` and are listed at the end of the run.
"""

from __future__ import annotations

import hashlib
import importlib.util
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.web.catalog_support import CUSTOMERS, CUSTOMERS_360, PIPELINE, World, catalog_world

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

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
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
WAIT_MS = 30_000
QUERY = "SELECT customer_id, email FROM lakehouse.shop.customers_360 ORDER BY customer_id"
POLL_SECONDS = 30


def _skip_without_browser() -> None:
    if importlib.util.find_spec("playwright") is None or not CHROMIUM.exists():
        pytest.skip("needs Playwright and Debian's chromium (make install-dev)")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    _skip_without_browser()
    with catalog_world(tmp_path_factory.mktemp("web-catalog")) as made:
        yield made


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    _skip_without_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Viewer:
    """One signed-in browser context, collecting the page's uncaught errors."""

    def __init__(self, browser: Any, world: World, user: str) -> None:
        self.context = browser.new_context(viewport={"width": 1400, "height": 1000})
        self.page = self.context.new_page()
        self.page.set_default_timeout(WAIT_MS)
        self.errors: list[str] = []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.url = world.url
        self.page.goto(f"{world.url}/catalog")
        assert "/login" in self.page.url
        self.page.fill("#api_key", world.keys[user])
        self.page.click("button[type=submit]")
        self.page.wait_for_url(f"{world.url}/catalog")

    def shot(self, record_property: Any, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"web-catalog-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        record_property("screenshot", str(path))

    def workbench_emails(self) -> list[str]:
        self.page.goto(f"{self.url}/workbench")
        self.page.fill("#sql", QUERY)
        self.page.get_by_role("button", name="Run", exact=True).click()
        table = self.page.locator("#results table.result")
        table.wait_for()
        cells = table.locator("tbody tr td:nth-child(2)")
        return [text.strip() for text in cells.all_inner_texts()]

    def close(self) -> None:
        assert not self.errors, self.errors
        self.context.close()


@pytest.fixture
def operator(browser: Any, world: World) -> Iterator[Viewer]:
    viewer = Viewer(browser, world, "operator")
    yield viewer
    viewer.close()


@pytest.fixture
def ana(browser: Any, world: World) -> Iterator[Viewer]:
    viewer = Viewer(browser, world, "ana")
    yield viewer
    viewer.close()


def test_search_open_customers_360_and_its_lineage(operator: Viewer, record_property: Any) -> None:
    page = operator.page
    page.fill("#catalog-q", "customers")
    page.press("#catalog-q", "Enter")
    hit = page.locator(f'li.hit[data-fqn="{CUSTOMERS_360}"] a')
    hit.wait_for()
    operator.shot(record_property, "search")
    hit.click()
    page.wait_for_url(f"**/catalog/datasets/{quote(CUSTOMERS_360, safe='')}")
    assert page.locator("h1").inner_text() == "customers_360"
    assert page.locator("#column-email th").inner_text() == "email"
    assert page.locator("table.sample tbody tr").count() == 4
    operator.shot(record_property, "dataset")
    page.click("text=Lineage graph of customers_360")
    graph = page.locator("svg.lineage-graph")
    graph.wait_for()
    assert graph.locator("title#lineage-title").count() == 1
    for fqn in (CUSTOMERS, CUSTOMERS_360, PIPELINE):
        assert graph.locator(f'g.lineage-node[data-fqn="{fqn}"]').count() == 1
    assert graph.locator("path.lineage-edge").count() == 2
    page.locator('li[data-column="email"] a[data-get]').click()
    source = page.locator(".column-lineage .column-sources li")
    source.first.wait_for()
    assert CUSTOMERS in source.first.inner_text()
    operator.shot(record_property, "lineage")
    page.locator(f'a.lineage-node-link[aria-label$=": {CUSTOMERS}"]').focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/catalog/datasets/{quote(CUSTOMERS, safe='')}")


def test_a_tag_changes_what_the_workbench_shows(
    operator: Viewer, ana: Viewer, record_property: Any
) -> None:
    before = ana.workbench_emails()
    assert before[0] == "ada@example.com"
    page = operator.page
    page.goto(f"{operator.url}/catalog/datasets/{quote(CUSTOMERS_360, safe='')}")
    row = page.locator("#column-email")
    row.locator("input[name=tag]").fill("PII.Email")
    row.locator("form.tag-form button[type=submit]").click()
    page.wait_for_url("**#column-email")
    assert "PII.Email" in row.locator("ul.tags").inner_text()
    operator.shot(record_property, "tagged")
    hashed = hashlib.sha256(b"ada@example.com").hexdigest()
    deadline = time.monotonic() + POLL_SECONDS
    while (after := ana.workbench_emails())[0] != hashed:
        assert time.monotonic() < deadline, f"e-mails still shown as {after[:1]}"
        time.sleep(1)
    ana.shot(record_property, "workbench-masked")
    ana.page.goto(f"{ana.url}/catalog/datasets/{quote(CUSTOMERS_360, safe='')}")
    assert "hash (shop-email-hash)" in ana.page.locator("#column-email td.mask").inner_text()
    assert ana.page.locator("#column-email form").count() == 0
