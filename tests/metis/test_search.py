"""Search on both backends (SQLite FTS5, PostgreSQL tsvector) behind one interface: words
over names, descriptions, columns, tags and owners; facets; access filtering before counts;
bounded queries; the index follows every write (update, soft and hard delete)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dataos_defs.metis import search
from dataos_defs.metis.catalog import Catalog
from dataos_defs.metis.requests import (
    CreateDatabase,
    CreateDatabaseSchema,
    CreateService,
    CreateTable,
)
from dataos_defs.metis.search_index import Candidate
from dataos_defs.poros.settings import Settings
from dataos_defs.poros.store import Store

OWNER = {"id": "00000000-0000-0000-0000-000000000001", "type": "user", "name": "alice"}


@pytest.fixture
def catalog(tmp_path: Path, store_url: str) -> Iterator[Catalog]:
    store = Store.open(settings=Settings(home=tmp_path / "home", database_url=store_url))
    opened = Catalog.open(store)
    for service in ("shoppg", "hrpg"):
        opened.put(
            "databaseService",
            CreateService(name=service, serviceType="Postgres"),
            "op",
            expect_new=True,
        )
        opened.put("database", CreateDatabase(name="db", service=service), "op", expect_new=True)
        for schema in ("sales", "people"):
            create = CreateDatabaseSchema(name=schema, database=f"{service}.db")
            opened.put("databaseSchema", create, "op", expect_new=True)
    put_table(opened, "shoppg", "sales", "orders", "One row per customer order", tags=["Tier.Gold"])
    put_table(opened, "shoppg", "sales", "customers", "Who buys", email_tag="PII.Email")
    put_table(opened, "shoppg", "people", "staff", "Employees of the shop")
    put_table(opened, "hrpg", "people", "salaries", "Secret salaries of every customer")
    yield opened
    store.close()


def put_table(
    catalog: Catalog,
    service: str,
    schema: str,
    name: str,
    description: str,
    *,
    tags: list[str] | None = None,
    email_tag: str | None = None,
) -> None:
    email: dict[str, Any] = {"name": "contact_email", "dataType": "VARCHAR"}
    if email_tag:
        email["tags"] = [{"tagFQN": email_tag}]
    create = CreateTable.model_validate(
        {
            "name": name,
            "databaseSchema": f"{service}.db.{schema}",
            "description": description,
            "columns": [{"name": "id", "dataType": "INT"}, email],
            "tags": [{"tagFQN": tag} for tag in tags or []],
            "owners": [OWNER],
        }
    )
    catalog.put("table", create, "op", expect_new=None)


def everyone(found: list[Candidate]) -> list[Candidate]:
    return found


def fqns(page: search.SearchPage) -> list[str]:
    return [hit.fqn for hit in page.hits]


def find(catalog: Catalog, visible: search.Visible = everyone, **fields: Any) -> search.SearchPage:
    fields.setdefault("index", "table_search_index")
    return search.search(catalog.engine, search.SearchRequest(**fields), visible)


def test_words_match_names_descriptions_columns_tags_and_owners(catalog: Catalog) -> None:
    assert fqns(find(catalog, text="orders")) == ["shoppg.db.sales.orders"]
    assert fqns(find(catalog, text="employees shop")) == ["shoppg.db.people.staff"]
    assert "shoppg.db.sales.customers" in fqns(find(catalog, text="contact_email"))
    assert fqns(find(catalog, text="pii email")) == ["shoppg.db.sales.customers"]
    assert fqns(find(catalog, text="gold")) == ["shoppg.db.sales.orders"]
    assert len(fqns(find(catalog, text="alice"))) == 4
    assert fqns(find(catalog, text="ord")) == ["shoppg.db.sales.orders"], "words are prefixes"


def test_the_name_ranks_before_a_description(catalog: Catalog) -> None:
    found = fqns(find(catalog, text="customer"))
    assert found[0] == "shoppg.db.sales.customers"
    assert set(found) == {
        "shoppg.db.sales.customers",
        "shoppg.db.sales.orders",
        "hrpg.db.people.salaries",
    }


def test_facets_narrow_and_count(catalog: Catalog) -> None:
    page = find(catalog)
    assert page.total == 4
    assert dict(page.facets["service"]) == {"shoppg": 3, "hrpg": 1}
    assert dict(page.facets["schema"]) == {"sales": 2, "people": 2}
    assert dict(page.facets["tag"]) == {"PII.Email": 1, "Tier.Gold": 1}
    assert dict(page.facets["owner"]) == {"alice": 4}
    narrowed = find(catalog, facets={"service": ["shoppg"], "schema": ["people"]})
    assert fqns(narrowed) == ["shoppg.db.people.staff"]
    every_type = find(catalog, index="all", facets={"service": ["hrpg"]})
    assert dict(every_type.facets["type"]) == {
        "databaseService": 1,
        "database": 1,
        "databaseSchema": 2,
        "table": 1,
    }


def test_hits_counts_and_facets_cover_only_what_the_caller_may_read(catalog: Catalog) -> None:
    """The attack: a data-dev searching for what is in a dataset it may not read. Neither a
    hit, nor the total, nor a facet count may reveal it."""

    def not_hr(found: list[Candidate]) -> list[Candidate]:
        return [hit for hit in found if not hit.fqn.startswith("hrpg.")]

    for words in ("salaries", "secret salaries", "customer", ""):
        page = find(catalog, not_hr, text=words)
        assert all(not fqn.startswith("hrpg.") for fqn in fqns(page))
        assert "hrpg" not in dict(page.facets["service"])
    assert find(catalog, not_hr, text="salaries").total == 0
    assert find(catalog, not_hr, text="customer").total == 2


def test_the_index_follows_updates_and_deletes(catalog: Catalog) -> None:
    put_table(catalog, "shoppg", "sales", "orders", "Renamed purpose: invoices")
    assert fqns(find(catalog, text="invoices")) == ["shoppg.db.sales.orders"]
    staff = catalog.get("table", fqn="shoppg.db.people.staff")
    assert staff is not None
    catalog.delete(staff, [], "op", hard=False)
    assert fqns(find(catalog, text="employees")) == []
    assert fqns(find(catalog, text="employees", deleted=True)) == ["shoppg.db.people.staff"]
    deleted = catalog.get("table", fqn="shoppg.db.people.staff", include_deleted=True)
    assert deleted is not None
    catalog.delete(deleted, [], "op", hard=True)
    assert fqns(find(catalog, text="employees", deleted=None)) == []


def test_fqn_patterns_and_paging(catalog: Catalog) -> None:
    tables = fqns(find(catalog, fqn_pattern="shoppg.*.sales.*", by_fqn=True))
    assert tables == ["shoppg.db.sales.customers", "shoppg.db.sales.orders"]
    assert fqns(find(catalog, fqn_pattern="SHOPPG.db.sales.orders")) == ["shoppg.db.sales.orders"]
    assert fqns(find(catalog, fqn_pattern="shoppg.db.sales.order_")) == [], "_ is no wildcard"
    first = find(catalog, by_fqn=True, size=2)
    after = find(catalog, by_fqn=True, size=2, after=[first.hits[-1].fqn])
    assert fqns(first) + fqns(after) == sorted(fqns(find(catalog, size=10)))


@pytest.mark.parametrize(
    "fields",
    [
        {"text": "x" * (search.MAX_QUERY_CHARS + 1)},
        {"size": search.MAX_SIZE + 1},
        {"offset": search.MAX_WINDOW, "size": 1},
        {"facets": {"password": ["x"]}},
    ],
)
def test_queries_are_bounded(catalog: Catalog, fields: dict[str, Any]) -> None:
    with pytest.raises(search.SearchRefused):
        find(catalog, **fields)


def test_query_syntax_is_never_interpreted(catalog: Catalog) -> None:
    for hostile in ('"', "NEAR(orders", "orders OR 1=1", "a:* | b", "'; drop table x; --", "*"):
        find(catalog, text=hostile)
    assert fqns(find(catalog, text="orders) OR (staff")) == []
    unknown = find(catalog, index="query_search_index", text="orders")
    assert unknown.total == 0
