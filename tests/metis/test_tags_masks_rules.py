"""The tag rule (``metis.tag_rules``) and the catalog's projection of column tags
(``metis.tag_index``) on a real store: what counts as governance, which changes add or
remove governed tags, who may make them, and what the Gateway and Heimdall read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dataos_defs.manifest.policy import Policy
from dataos_defs.metis import tag_rules
from dataos_defs.metis.catalog import Catalog
from dataos_defs.metis.requests import (
    CreateDatabase,
    CreateDatabaseSchema,
    CreateService,
    CreateTable,
)
from dataos_defs.metis.tag_index import CatalogColumnTags
from dataos_defs.poros.store import Store

FQN = "shoppg.shop.public.customers"


def table(**email_tags: list[str]) -> dict[str, Any]:
    def column(name: str) -> dict[str, Any]:
        return {
            "name": name,
            "dataType": "VARCHAR",
            "tags": [{"tagFQN": t} for t in email_tags.get(name, [])],
        }

    return {"name": "customers", "columns": [column("id"), column("email"), column("phone")]}


def mask_policy(*tags: str) -> Policy:
    return Policy.model_validate(
        {
            "name": "p",
            "version": "v1",
            "type": "policy",
            "policy": {
                "data": {
                    "type": "mask",
                    "selector": {
                        "column": {"tags": list(tags)},
                        "user": {"match": "any", "tags": ["users:id:*"]},
                    },
                    "mask": {"operator": "pass_through"},
                }
            },
        }
    )


def test_pii_is_always_governed_and_policies_add_their_classifications() -> None:
    rules = tag_rules.governed([mask_policy("Tier.Public")])
    assert rules.covers("PII.Email") and rules.covers("Tier.Public")
    assert not rules.covers("Glossary.Customer")
    assert tag_rules.governed([mask_policy("*.Secret")]).covers("Anything.At.All")


def test_changes_are_pairs_of_column_and_tag_so_renames_and_drops_count() -> None:
    rules = tag_rules.governed([])
    before = table(email=["PII.Email", "Glossary.Contact"])
    renamed = {
        **before,
        "columns": [
            {**c, "name": "mail"} if c["name"] == "email" else c for c in before["columns"]
        ],
    }
    found = tag_rules.change("table", FQN, before, renamed, rules)
    assert found.removed == {("email", "PII.Email")} and found.added == {("mail", "PII.Email")}
    dropped = tag_rules.change(
        "table", FQN, before, {**before, "columns": before["columns"][:1]}, rules
    )
    assert dropped.removed == {("email", "PII.Email")}
    described = tag_rules.change("table", FQN, before, {**before, "description": "x"}, rules)
    assert not described
    assert not tag_rules.change("table", FQN, before, table(email=["PII.Email"]), rules)
    assert tag_rules.change("table", FQN, before, None, rules).removed == {("email", "PII.Email")}
    forged = table(email=["PII.Email"])
    forged["columns"][1]["tags"][0]["appliedBy"] = "poros"
    assert tag_rules.change("table", FQN, table(email=["PII.Email"]), forged, rules).altered
    assert tag_rules.change("tag", "PII.Email", {"name": "Email"}, None, rules)
    assert not tag_rules.change("tag", "Glossary.X", {"name": "X"}, None, rules)


def refusal(
    actor: str, found: tag_rules.TagChange, allowed: bool, **extra: Any
) -> tag_rules.Refusal | None:
    return tag_rules.refusal("table", FQN, found, actor=actor, may_tag=lambda _: allowed, **extra)


def test_who_may_change_governed_tags() -> None:
    removed = tag_rules.TagChange(removed=frozenset({("email", "PII.Email")}))
    added = tag_rules.TagChange(added=frozenset({("email", "PII.Email")}))
    assert refusal("dev", removed, allowed=False).status == 403  # type: ignore[union-attr]
    assert refusal("dev", added, allowed=False).status == 403  # type: ignore[union-attr]
    assert refusal("op", removed, allowed=True) is None
    assert refusal("metis", added, allowed=False) is None
    assert refusal("metis", removed, allowed=True).status == 403  # type: ignore[union-attr]
    declared = frozenset({("email", "PII.Email")})
    assert refusal("op", removed, allowed=True, declared=declared).status == 409  # type: ignore[union-attr]
    assert refusal("op", removed, allowed=True, declared=declared, erased=True) is None
    assert refusal("dev", tag_rules.TagChange(), allowed=False) is None


def test_the_tag_permission_is_asked_on_the_dataset_of_a_table() -> None:
    assert tag_rules.tag_object("table", FQN) == "dataos://shoppg:public/customers"
    assert tag_rules.tag_object("tag", "PII.Email") == "/metis/tag/PII.Email"


@pytest.fixture()
def catalog(tmp_path: Path) -> Catalog:
    store = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    return Catalog.open(store)


def test_the_projection_follows_writes_keeps_soft_deleted_tags_and_moves_its_marker(
    catalog: Catalog,
) -> None:
    reader = CatalogColumnTags(catalog.engine)
    catalog.put(
        "databaseService",
        CreateService(name="shoppg", serviceType="Postgres"),
        "op",
        expect_new=True,
    )
    catalog.put("database", CreateDatabase(name="shop", service="shoppg"), "op", expect_new=True)
    schema = CreateDatabaseSchema(name="public", database="shoppg.shop")
    catalog.put("databaseSchema", schema, "op", expect_new=True)
    start = reader.marker()
    request = CreateTable.model_validate(
        {**table(email=["PII.Email"]), "databaseSchema": "shoppg.shop.public"}
    )
    stored, _ = catalog.put("table", request, "op", expect_new=True)
    tagged = reader.marker()
    assert tagged != start
    assert reader.column_tags() == {"shoppg.public.customers": {"email": ("PII.Email",)}}
    catalog.put("table", request, "op", expect_new=False)
    assert reader.marker() == tagged  # nothing changed, nothing moved
    catalog.delete(stored, [], "op", hard=False)
    assert reader.column_tags() == {"shoppg.public.customers": {"email": ("PII.Email",)}}
    current = catalog.get("table", fqn=stored.fqn, include_deleted=True)
    assert current is not None
    catalog.delete(current, [], "op", hard=True)
    assert reader.column_tags() == {} and reader.marker() != tagged
