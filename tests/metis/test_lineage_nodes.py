"""Lineage graphs read their nodes light (``dataos_defs.metis.lineage_nodes``: id, type, FQN,
name, display name, deleted, straight from the database's JSON functions) and answer
byte for byte what they answered when every node's whole entity was decoded; on SQLite and
on a real PostgreSQL (``store_url``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dataos_defs.metis import lineage
from dataos_defs.metis.catalog import Catalog
from dataos_defs.metis.entities import EntityReference
from dataos_defs.metis.lineage_nodes import LineageNode, load_nodes, node_of, reference
from dataos_defs.metis.records import StoredEntity
from dataos_defs.metis.requests import (
    CreateDatabase,
    CreateDatabaseSchema,
    CreatePipeline,
    CreateService,
    CreateTable,
)
from dataos_defs.poros.settings import Settings
from dataos_defs.poros.store import Store


@pytest.fixture
def catalog(tmp_path: Path, store_url: str) -> Iterator[Catalog]:
    store = Store.open(settings=Settings(home=tmp_path / "home", database_url=store_url))
    try:
        yield Catalog.open(store)
    finally:
        store.close()


def _table(catalog: Catalog, name: str, display: str | None = None) -> StoredEntity:
    request = CreateTable.model_validate(
        {
            "name": name,
            "displayName": display,
            "databaseSchema": "lake.default.shop",
            "columns": [
                {"name": "id", "dataType": "INT"},
                {"name": "email", "dataType": "VARCHAR"},
            ],
        }
    )
    return catalog.put("table", request, "t", expect_new=True)[0]


def _chain(catalog: Catalog) -> dict[str, StoredEntity]:
    """raw → "clean.v2" (display name, unicode) → mart; gone (soft-deleted) → mart; mart →
    report; a pipeline on every edge."""
    catalog.put(
        "databaseService", CreateService(name="lake", serviceType="Iceberg"), "t", expect_new=True
    )
    catalog.put("database", CreateDatabase(name="default", service="lake"), "t", expect_new=True)
    catalog.put(
        "databaseSchema",
        CreateDatabaseSchema(name="shop", database="lake.default"),
        "t",
        expect_new=True,
    )
    catalog.put(
        "pipelineService", CreateService(name="jobs", serviceType="Dagster"), "t", expect_new=True
    )
    pipeline, _ = catalog.put(
        "pipeline", CreatePipeline(name="daily", service="jobs"), "t", expect_new=True
    )
    tables = {
        "raw": _table(catalog, "raw"),
        "clean": _table(catalog, "clean.v2", "Clean — Ünïcode"),
        "gone": _table(catalog, "gone"),
        "mart": _table(catalog, "mart"),
        "report": _table(catalog, "report"),
    }
    ref = EntityReference(
        id=pipeline.id, type="pipeline", name="daily", fullyQualifiedName="jobs.daily"
    )
    for source, target in (
        ("raw", "clean"),
        ("clean", "mart"),
        ("gone", "mart"),
        ("mart", "report"),
    ):
        details = lineage.LineageDetails(
            pipeline=ref,
            source="PipelineLineage",
            sqlQuery=f"select * from {source}",
            columnsLineage=[
                lineage.ColumnLineage(
                    fromColumns=[f"{tables[source].fqn}.email"],
                    toColumn=f"{tables[target].fqn}.email",
                )
            ],
        )
        lineage.add_edge(catalog.engine, tables[source], tables[target], details, None, "t")
    catalog.delete(tables["gone"], [], "t", hard=False)
    return tables


def _dumped(answer: dict[str, Any]) -> str:
    return json.dumps(answer, ensure_ascii=False)


def test_light_answers_are_byte_identical_to_whole_entity_answers(catalog: Catalog) -> None:
    tables = _chain(catalog)
    for root in tables.values():
        for up, down in ((3, 3), (1, 0), (0, 2), (5, 5)):
            light = lineage.graph(catalog.engine, root, up, down)
            whole = lineage.graph(catalog.engine, root, up, down, catalog.get_many, lambda _: True)
            assert _dumped(light) == _dumped(whole), (root.fqn, up, down)
    around = lineage.graph(catalog.engine, tables["mart"], 3, 3)
    names = [node["fullyQualifiedName"] for node in around["nodes"]]
    assert names == [tables["clean"].fqn, tables["raw"].fqn, tables["report"].fqn]
    assert around["nodes"][0]["displayName"] == "Clean — Ünïcode"
    assert "displayName" not in around["nodes"][1], "an unset display name is left out"


def test_references_keep_entity_reference_field_order(catalog: Catalog) -> None:
    tables = _chain(catalog)
    with catalog.engine.connect() as conn:
        nodes = load_nodes(conn, [t.id for t in tables.values()] + ["no-such-id"])
    assert set(nodes) == {t.id for t in tables.values()}
    assert nodes[tables["gone"].id].deleted and not nodes[tables["raw"].id].deleted
    for table in tables.values():
        stored = catalog.get("table", id=table.id, include_deleted=True)
        assert stored is not None
        model = EntityReference(
            id=stored.id,
            type="table",
            name=stored.body["name"],
            fullyQualifiedName=stored.fqn,
            displayName=stored.body.get("displayName"),
            deleted=stored.deleted,
        )
        expected = json.dumps(model.model_dump(mode="json", exclude_none=True))
        assert json.dumps(reference(nodes[stored.id])) == expected
        assert node_of(stored) == nodes[stored.id]


def test_a_hidden_node_hides_what_lies_behind_it(catalog: Catalog) -> None:
    tables = _chain(catalog)
    asked: list[str] = []

    def visible(node: LineageNode) -> bool:
        asked.append(node.fqn)
        return node.id != tables["clean"].id

    around = lineage.graph(catalog.engine, tables["mart"], 3, 3, visible=visible)
    shown = {node["id"] for node in around["nodes"]}
    assert shown == {tables["report"].id}
    assert tables["raw"].fqn not in asked, "the walk never went past the hidden node"
    assert tables["gone"].fqn not in asked, "a deleted node is not even asked about"
    ends = {e["fromEntity"] for e in around["upstreamEdges"]}
    assert ends == set(), "no edge to a hidden or deleted node"
