"""The Catalog pages over a real API server, without a browser (``catalog_support``'s world).

What is checked: search shows, counts and facets only datasets the viewer may read; a
hidden dataset's page is 404 exactly like a missing one (its existence does not leak); the
dataset page shows the Gateway's masks *for the viewer* and sample rows masked by the
Gateway; the lineage page draws datasets and the pipeline in an accessible SVG with a text
alternative, and column lineage comes on demand; the tag forms are shown only to those
Heimdall lets update the table, and a tag post is refused without the session's form token
or without the permission; no key, session token or source password reaches any page.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest

from tests.web.catalog_support import (
    CHECK,
    CUSTOMERS,
    CUSTOMERS_360,
    METIS,
    PIPELINE,
    RUN_ID,
    SALARIES,
    SERVICE_PASSWORD,
    World,
    catalog_world,
    csrf_of,
    signed_in,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]
POLL_SECONDS = 30


def page(fqn: str, suffix: str = "") -> str:
    return f"/catalog/datasets/{quote(fqn, safe='')}{suffix}"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with catalog_world(tmp_path_factory.mktemp("catalog-home")) as made:
        yield made


@pytest.fixture(scope="module")
def ana(world: World) -> Iterator[httpx.Client]:
    client = signed_in(world.url, world.keys["ana"])
    yield client
    client.close()


@pytest.fixture(scope="module")
def operator(world: World) -> Iterator[httpx.Client]:
    client = signed_in(world.url, world.keys["operator"])
    yield client
    client.close()


def test_search_shows_and_counts_only_readable_datasets(
    ana: httpx.Client, operator: httpx.Client
) -> None:
    mine = ana.get("/catalog", params={"q": "salaries staff customers"})
    assert mine.status_code == 200
    everything = ana.get("/catalog", params={"facet": "type:table"})
    assert f'data-fqn="{CUSTOMERS_360}"' in everything.text
    assert SALARIES not in everything.text
    assert "hr" not in re.findall(r"facet=schema%3A(\w+)", everything.text)
    assert "3 results" not in everything.text and "2 results" in everything.text
    wider = operator.get("/catalog", params={"facet": "type:table"})
    assert f'data-fqn="{SALARIES}"' in wider.text and "3 results" in wider.text
    assert "hr" in re.findall(r"facet=schema%3A(\w+)", wider.text)
    narrowed = operator.get("/catalog", params={"facet": ["type:table", "schema:hr"]})
    assert "1 result<" in narrowed.text and f'data-fqn="{SALARIES}"' in narrowed.text
    asked = ana.get("/catalog", params={"facet": ["type:table", "schema:hr"]})
    assert "0 results" in asked.text and SALARIES not in asked.text


def test_a_hidden_dataset_is_not_found_like_a_missing_one(ana: httpx.Client) -> None:
    hidden = ana.get(page(SALARIES))
    missing = ana.get(page("lakehouse.default.hr.nothing"))
    assert hidden.status_code == missing.status_code == 404
    assert "salaries of the staff" not in hidden.text
    assert hidden.text.replace("salaries", "X") == missing.text.replace("nothing", "X")
    for suffix in ("/lineage", "/lineage/columns/salary"):
        assert ana.get(page(SALARIES, suffix)).status_code == 404


def test_pages_need_a_session(world: World) -> None:
    anonymous = httpx.get(world.url + page(CUSTOMERS_360), follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/login?next=")


def test_dataset_page_shows_the_viewers_masks_and_masked_samples(
    ana: httpx.Client, operator: httpx.Client
) -> None:
    mine = ana.get(page(CUSTOMERS_360))
    assert mine.status_code == 200, mine.text
    age = _row(mine.text, "age")
    assert "bucket_number (shop-age-buckets)" in age
    assert "one row per customer with their order totals" in mine.text
    sample = mine.text.split('id="sample-heading"', 1)[1]
    assert "ada@example.com" in sample  # e-mails are not tagged yet: no mask
    assert "<td>25</td>" in sample and "<td>27</td>" not in sample  # age 27 → band 25
    theirs = operator.get(page(CUSTOMERS_360))
    assert "bucket_number" not in _row(theirs.text, "age")
    assert "<td>27</td>" in theirs.text.split('id="sample-heading"', 1)[1]


def test_runs_and_checks_show_only_to_readers_of_the_writing_workflow(
    ana: httpx.Client, operator: httpx.Client
) -> None:
    theirs = operator.get(page(CUSTOMERS_360)).text
    assert "Written by workflow shop-360 (workspace public)" in theirs
    assert RUN_ID[:8] in theirs and CHECK.replace(">", "&gt;") in theirs
    assert "a value: ada@example.com" not in theirs  # run errors are never shown here
    mine = ana.get(page(CUSTOMERS_360)).text
    assert "you may not read the Resource writing this dataset" in mine
    assert RUN_ID[:8] not in mine and "shop-360" not in mine


def test_lineage_graph_is_drawn_with_a_text_alternative(ana: httpx.Client) -> None:
    drawn = ana.get(page(CUSTOMERS_360, "/lineage"))
    assert drawn.status_code == 200, drawn.text
    svg = drawn.text.split("<svg", 1)[1].split("</svg>", 1)[0]
    assert '<title id="lineage-title">' in svg and '<desc id="lineage-desc">' in svg
    for fqn, kind in ((CUSTOMERS, "dataset"), (CUSTOMERS_360, "dataset"), (PIPELINE, "pipeline")):
        assert f'data-fqn="{fqn}" data-kind="{kind}"' in svg
    assert svg.count('class="lineage-edge"') == 2  # customers → shop-daily → customers_360
    assert f"{CUSTOMERS} → (by {PIPELINE}) → {CUSTOMERS_360}" in drawn.text
    fragment = ana.get(page(CUSTOMERS_360, "/lineage/columns/email"), headers={"X-Fragment": "1"})
    assert fragment.status_code == 200
    assert (
        "<html" not in fragment.text and f"{CUSTOMERS}</a>.<strong>email</strong>" in fragment.text
    )
    assert ana.get(page(CUSTOMERS_360, "/lineage"), params={"depth": 9}).status_code == 400


def test_only_users_allowed_to_update_the_table_see_tag_forms(
    ana: httpx.Client, operator: httpx.Client
) -> None:
    assert "/tags" not in ana.get(page(CUSTOMERS_360)).text
    assert 'action="/catalog/datasets/' in operator.get(page(CUSTOMERS_360)).text


def test_a_tag_post_needs_the_form_token_and_the_permission(
    ana: httpx.Client, operator: httpx.Client, world: World
) -> None:
    target = page(CUSTOMERS_360, "/columns/first_name/tags")
    form = {"tag": "PII.Name", "action": "add"}
    forged = operator.post(target, data=form)
    assert forged.status_code == 403
    stolen = operator.post(target, data={**form, "csrf_token": csrf_of(ana.get("/").text)})
    assert stolen.status_code == 403
    refused = ana.post(target, data={**form, "csrf_token": csrf_of(ana.get("/").text)})
    assert refused.status_code == 403, refused.text
    assert "PII.Name" not in _column_tags(world, "first_name")


def test_the_operator_tags_and_untags_a_column(operator: httpx.Client, world: World) -> None:
    shown = operator.get(page(CUSTOMERS_360))
    target = page(CUSTOMERS_360, "/columns/country/tags")
    form = {"tag": "Geo.Country", "action": "add", "csrf_token": csrf_of(shown.text)}
    done = operator.post(target, data=form, follow_redirects=False)
    assert done.status_code == 303, done.text
    assert done.headers["location"] == page(CUSTOMERS_360) + "#column-country"
    assert "Geo.Country" in _column_tags(world, "country")
    assert "Geo.Country" in _row(operator.get(page(CUSTOMERS_360)).text, "country")
    bad = operator.post(target, data={**form, "tag": "<script>"})
    assert bad.status_code == 400 and "<script>" not in bad.text
    removed = operator.post(target, data={**form, "action": "remove"}, follow_redirects=False)
    assert removed.status_code == 303
    assert "Geo.Country" not in _column_tags(world, "country")


def test_tagging_pii_email_masks_the_column_for_the_viewer(
    ana: httpx.Client, operator: httpx.Client, world: World
) -> None:
    shown = operator.get(page(CUSTOMERS_360))
    target = page(CUSTOMERS_360, "/columns/email/tags")
    form = {"tag": "PII.Email", "action": "add", "csrf_token": csrf_of(shown.text)}
    assert operator.post(target, data=form, follow_redirects=False).status_code == 303
    assert "PII.Email" in _column_tags(world, "email")
    deadline = time.monotonic() + POLL_SECONDS
    while "hash (shop-email-hash)" not in _row(ana.get(page(CUSTOMERS_360)).text, "email"):
        assert time.monotonic() < deadline, "the Gateway did not mask the newly tagged column"
        time.sleep(0.5)
    assert "ada@example.com" not in ana.get(page(CUSTOMERS_360)).text
    removed = operator.post(target, data={**form, "action": "remove"}, follow_redirects=False)
    assert removed.status_code == 303
    assert "PII.Email" not in _column_tags(world, "email")


def test_an_editor_without_the_tag_predicate_cannot_touch_mask_tags(world: World) -> None:
    bea = signed_in(world.url, world.keys["bea"])
    try:
        shown = bea.get(page(CUSTOMERS_360)).text
        assert "drive masks" in shown and 'class="tag-form"' in shown
        target = page(CUSTOMERS_360, "/columns/first_name/tags")
        form = {"tag": "PII.Name", "action": "add", "csrf_token": csrf_of(shown)}
        refused = bea.post(target, data=form)
        assert refused.status_code == 403, refused.text
        assert "PII.Name" not in _column_tags(world, "first_name")
        plain = bea.post(target, data={**form, "tag": "Quality.Curated"}, follow_redirects=False)
        assert plain.status_code == 303, plain.text
        assert "Quality.Curated" in _column_tags(world, "first_name")
    finally:
        bea.close()


def test_no_secret_reaches_a_page(world: World, operator: httpx.Client) -> None:
    texts = [
        operator.get(path).text
        for path in (
            "/catalog",
            "/catalog?q=lakehouse",
            page(CUSTOMERS_360),
            page(CUSTOMERS_360, "/lineage"),
        )
    ]
    cookie = operator.cookies.get("dataos_session") or ""
    for text in texts:
        assert SERVICE_PASSWORD not in text
        assert world.keys["operator"] not in text and world.keys["ana"] not in text
        assert not cookie or cookie not in text


def _row(html: str, column: str) -> str:
    found = re.search(rf'<tr id="column-{column}".*?</tr>', html, re.S)
    assert found is not None, f"no row for column {column}"
    return found.group(0)


def _column_tags(world: World, column: str) -> list[str]:
    with httpx.Client(base_url=world.url + METIS, headers=world.server.headers) as http:
        table = http.get(f"/tables/name/{CUSTOMERS_360}").json()
    [found] = [c for c in table["columns"] if c["name"] == column]
    return [t["tagFQN"] for t in found["tags"]]
