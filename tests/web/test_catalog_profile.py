"""The dataset page's Profile section and datasets whose names hold ``/``, over a real API
server (``catalog_support``'s world), without a browser.

The profile of ``customers_360`` is PUT through Metis' API as the scanner would. ``ana``
(``roles:id:user``) sees ages bucketed by the example's policies, so the page shows her the
age column's nulls and distinct count but never its minimum or maximum; the operator sees
them. A table named ``in/out`` with a column ``a/b`` (and one named ``x/lineage``) opens
from the catalog's links: its page, its lineage and its column lineage.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from dataos_defs.web.catalog import dataset_url
from tests.web.catalog_support import CUSTOMERS_360, METIS, World, catalog_world, signed_in

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]
NOW = int(time.time() * 1000)
SLASHED = "scratch.db.public.in/out"
LINEAGE_NAMED = "scratch.db.public.x/lineage"
PROFILE = {
    "tableProfile": {"timestamp": NOW, "rowCount": 4, "columnCount": 5},
    "columnProfile": [
        {"name": "age", "timestamp": NOW, "nullProportion": 0.25, "distinctCount": 3,
         "min": 17, "max": 41},
        {"name": "country", "timestamp": NOW, "nullProportion": 0, "distinctCount": 4,
         "min": "DE", "max": "US"},
    ],
}  # fmt: skip


def _ok(response: httpx.Response) -> Any:
    assert response.status_code in (200, 201), response.text
    return response.json()


@contextmanager
def profile_world(home: Path) -> Iterator[World]:
    """``catalog_world`` with the profile of ``customers_360`` and the tables named with
    ``/`` (also the browser test's world)."""
    with catalog_world(home) as made:
        headers = {"Authorization": f"Bearer {made.keys['operator']}"}
        with httpx.Client(base_url=made.url + METIS, headers=headers, timeout=60) as op:
            table = _ok(op.get(f"/tables/name/{CUSTOMERS_360}"))
            _ok(op.put(f"/tables/{table['id']}/tableProfile", json=PROFILE))
            service = {"name": "scratch", "serviceType": "Postgres"}
            _ok(op.put("/services/databaseServices", json=service))
            _ok(op.put("/databases", json={"name": "db", "service": "scratch"}))
            _ok(op.put("/databaseSchemas", json={"name": "public", "database": "scratch.db"}))
            for name in ("in/out", "x/lineage", "x"):
                columns = [{"name": "a/b", "dataType": "INT"}, {"name": "id", "dataType": "INT"}]
                body = {"name": name, "databaseSchema": "scratch.db.public", "columns": columns}
                _ok(op.put("/tables", json=body))
        yield made


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with profile_world(tmp_path_factory.mktemp("catalog-profile-home")) as made:
        yield made


def _profile_row(html: str, column: str) -> str:
    section = html.split('id="profile-heading"', 1)[1].split("</section>", 1)[0]
    return section.split(f'data-profile-column="{column}"', 1)[1].split("</tr>", 1)[0]


def test_the_profile_hides_min_and_max_of_columns_masked_for_the_viewer(world: World) -> None:
    with closing(signed_in(world.url, world.keys["ana"])) as ana:
        mine = ana.get(dataset_url(CUSTOMERS_360))
    assert mine.status_code == 200, mine.text
    assert "4 rows, profiled" in mine.text
    age = _profile_row(mine.text, "age")
    assert "25.0 %" in age and "<td>3</td>" in age
    assert "masked for you" in age and "<td>17</td>" not in age and "<td>41</td>" not in age
    country = _profile_row(mine.text, "country")
    assert "<td>DE</td>" in country and "<td>US</td>" in country
    with closing(signed_in(world.url, world.keys["operator"])) as operator:
        theirs = operator.get(dataset_url(CUSTOMERS_360))
    age = _profile_row(theirs.text, "age")
    assert "<td>17</td>" in age and "<td>41</td>" in age and "masked for you" not in age


def test_names_with_a_slash_open_from_the_catalog(world: World) -> None:
    with closing(signed_in(world.url, world.keys["ana"])) as ana:
        found = ana.get("/catalog", params={"q": "out"})
        assert dataset_url(SLASHED) in found.text
        page = ana.get(dataset_url(SLASHED))
        assert page.status_code == 200, page.text
        assert "in/out" in page.text and 'data-column="a/b"' in page.text
        lineage = ana.get(dataset_url(SLASHED) + "/lineage")
        assert lineage.status_code == 200, lineage.text
        column = ana.get(dataset_url(SLASHED) + "/lineage/columns/a%2Fb")
        assert column.status_code == 200, column.text
        named = ana.get(dataset_url(LINEAGE_NAMED))
        assert named.status_code == 200 and 'id="schema-heading"' in named.text
        assert "x/lineage" in named.text
        unknown = ana.get(dataset_url(SLASHED) + "/nothing")
        assert unknown.status_code == 404
