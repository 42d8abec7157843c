"""Accessibility of the web app's main pages, checked by axe-core in a real browser.

axe-core is pinned from the npm registry by ``tests/browser/axe/package-lock.json`` and
installed by ``make install-dev`` (``npm ci --prefix tests/browser/axe``); Playwright
injects ``axe.min.js`` into each page (never fetched from a CDN; the browser context
bypasses the pages' Content-Security-Policy for this test tool only, since the CSP rightly
refuses any script but the app's own) and runs it with the WCAG
2.x A/AA rules and axe's best practices. No page may have a ``serious`` or ``critical``
violation; a failure prints each violation's id, impact, help and the offending elements.

Pages: sign-in, home, Workbench (with a result shown), catalog search, a dataset page (as
the operator, so its tag forms are checked too), a lineage graph and the Operations list,
over ``tests/web/catalog_support``'s world.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.web.catalog_support import CUSTOMERS_360, World, catalog_world

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "tests/browser/axe/node_modules/axe-core/axe.min.js"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
BLOCKING = ("serious", "critical")
RUN_AXE = """async () => await axe.run(document, {
  runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']},
  resultTypes: ['violations'],
})"""
DATASET = f"/catalog/datasets/{quote(CUSTOMERS_360, safe='')}"
SIGNED_IN_PAGES = {
    "home": "/",
    "catalog search": "/catalog?q=customers",
    "dataset": DATASET,
    "lineage": DATASET + "/lineage",
    "operations": "/operations",
    "workbench": "/workbench",
}


def _requirements() -> None:
    if importlib.util.find_spec("playwright") is None or not CHROMIUM.exists():
        pytest.skip("needs Playwright and Debian's chromium (make install-dev)")
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `make axe` (npm ci --prefix tests/browser/axe)")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    _requirements()
    with catalog_world(tmp_path_factory.mktemp("web-a11y")) as made:
        yield made


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    _requirements()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def signed_in(browser: Any, world: World) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{world.url}/login")
    page.fill("#api_key", world.keys["operator"])
    page.click("button[type=submit]")
    page.wait_for_url(f"{world.url}/")
    yield page
    context.close()


def blocking_violations(page: Any) -> list[dict[str, Any]]:
    """axe's serious and critical violations on the page as it is now."""
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(RUN_AXE)
    return [v for v in found["violations"] if v.get("impact") in BLOCKING]


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        targets = [json.dumps(node["target"]) for node in violation["nodes"][:10]]
        lines.append(
            f"{violation['id']} ({violation['impact']}): {violation['help']}\n    "
            + "\n    ".join(targets)
        )
    return "\n".join(lines)


def test_the_sign_in_page(browser: Any, world: World) -> None:
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    page.goto(f"{world.url}/login")
    violations = blocking_violations(page)
    context.close()
    assert not violations, describe(violations)


@pytest.mark.parametrize("name", sorted(SIGNED_IN_PAGES))
def test_a_main_page(signed_in: Any, world: World, name: str) -> None:
    response = signed_in.goto(world.url + SIGNED_IN_PAGES[name])
    assert response is not None and response.status == 200, name
    signed_in.wait_for_load_state("networkidle")
    violations = blocking_violations(signed_in)
    assert not violations, f"{name}:\n{describe(violations)}"


def test_the_workbench_with_a_result(signed_in: Any, world: World) -> None:
    signed_in.goto(f"{world.url}/workbench")
    signed_in.fill("#sql", "SELECT * FROM lakehouse.shop.customers_360")
    signed_in.get_by_role("button", name="Run", exact=True).click()
    signed_in.locator("#results table, #results [role=alert], #results .error").first.wait_for()
    violations = blocking_violations(signed_in)
    assert not violations, f"workbench:\n{describe(violations)}"
