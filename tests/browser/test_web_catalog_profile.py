"""The dataset page's Profile section and a dataset named with ``/``, in a real browser.

The world is ``tests/web/test_catalog_profile``'s (``catalog_support``'s, with a profile of
``customers_360`` and a table ``scratch.db.public.in/out``). Headless Debian Chromium,
driven by Playwright, signs ``ana`` (``roles:id:user``) in, searches the catalog, opens
``in/out`` from its hit (its URL holds ``%2F``), then ``customers_360``, whose profile
shows her the age column's nulls but its minimum and maximum as masked. No uncaught error
may occur in a page.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.test_web_catalog import (
    CHROMIUM,
    CHROMIUM_ARGS,
    Viewer,
    _skip_without_browser,
)
from tests.web.catalog_support import CUSTOMERS_360, World
from tests.web.test_catalog_profile import SLASHED, profile_world

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    _skip_without_browser()
    with profile_world(tmp_path_factory.mktemp("web-catalog-profile")) as made:
        yield made


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    _skip_without_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def ana(browser: Any, world: World) -> Iterator[Viewer]:
    viewer = Viewer(browser, world, "ana")
    yield viewer
    viewer.close()


def test_a_slashed_name_opens_and_the_profile_hides_masked_values(ana: Viewer) -> None:
    page = ana.page
    page.fill("#catalog-q", "out")
    page.press("#catalog-q", "Enter")
    hit = page.locator(f'li.hit[data-fqn="{SLASHED}"] a')
    hit.wait_for()
    hit.click()
    page.wait_for_url("**/catalog/datasets/scratch.db.public.in%2Fout")
    assert page.locator("h1").inner_text() == "in/out"
    page.click("text=Lineage graph of in/out")
    page.wait_for_url("**/catalog/datasets/scratch.db.public.in%2Fout/lineage")
    page.goto(f"{ana.url}/catalog/datasets/{CUSTOMERS_360}")
    age = page.locator('tr[data-profile-column="age"]')
    assert "masked for you" in age.inner_text()
    assert "17" not in age.inner_text() and "41" not in age.inner_text()
    assert "DE" in page.locator('tr[data-profile-column="country"]').inner_text()
