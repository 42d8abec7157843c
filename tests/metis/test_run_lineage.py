"""Lineage from every workflow run: a real flare run (compiled from the store, executed in
process by Dagster) records in Metis the tables it wrote (with the run's column types), an
edge from each dataset it read with the workflow's pipeline and the column lineage flare
computed; and a tag set in Metis on a source column is inherited by the output column, as a
declared one is."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from dataos_defs.metis import lineage
from dataos_defs.metis.catalog import Catalog
from dataos_defs.metis.poros_sync import PorosSync
from dataos_defs.poros.column_tags import DerivedColumnTags
from tests.interfaces.conftest import ROOT

sys.path.insert(0, str(ROOT / "tests" / "dagster"))
from governance_support import World, make_world

SOURCE = "landing.default.none.customers"
TARGET = "lake.default.shop.customers_copy"


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    home = tmp_path / "home"
    for name in ("DATAOS_DATABASE_URL", "DATAOS_EXECUTORS", "DATAOS_POLICIES_ROOT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATAOS_HOME", str(home))
    monkeypatch.setenv("DATAOS_MINERVA_LAKEHOUSE_CHECK_SECONDS", "0")
    return make_world(home)


def column(table: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in table["columns"] if c["name"] == name)


def test_a_run_records_its_tables_edges_pipeline_and_column_lineage(world: World) -> None:
    with world.store() as store:
        catalog = Catalog.open(store)
        PorosSync(store, catalog).sync()
        source = catalog.get("table", fqn=SOURCE)
        assert source is not None, "the depot's declared dataset is cataloged"
        body = {**source.body, "columns": [*source.body["columns"], country_tagged()]}
        catalog.replace(source, body, "operator")
    world.copy("copy-bot", "etl-bot")
    assert world.run("copy-bot").success
    with world.store() as store:
        catalog = Catalog(store.engine, store.vault)
        source = catalog.get("table", fqn=SOURCE)
        target = catalog.get("table", fqn=TARGET)
        assert source is not None and target is not None
        details = lineage.edge_details(store.engine, source.id, target.id)
        derived = DerivedColumnTags(store).of("lake.shop.customers_copy")
    assert details is not None
    assert details["source"] == "PipelineLineage"
    assert details["pipeline"]["fullyQualifiedName"] == "dataos-public.copy-bot"
    assert details["description"] == "written by public/copy-bot/copy"
    by_target = {c["toColumn"]: c["fromColumns"] for c in details["columnsLineage"]}
    assert by_target[f"{TARGET}.email"] == [f"{SOURCE}.email"]
    assert by_target[f"{TARGET}.country"] == [f"{SOURCE}.country"]
    assert column(target.body, "id")["dataType"] == "BIGINT"
    assert column(target.body, "email")["dataType"] == "VARCHAR"
    assert column(target.body, "email")["tags"] == []  # derived tags stay in Poros
    assert derived["email"].tags == ("PII.Email",)
    assert derived["country"].tags == ("PII.Country",), "a Metis tag follows the data too"


def country_tagged() -> dict[str, Any]:
    return {"name": "country", "dataType": "VARCHAR", "tags": [{"tagFQN": "PII.Country"}]}


def test_a_second_run_replaces_the_edge_and_creates_no_duplicate(world: World) -> None:
    with world.store() as store:
        PorosSync(store, Catalog.open(store)).sync()
    world.copy("copy-bot", "etl-bot")
    assert world.run("copy-bot").success
    assert world.run("copy-bot").success
    with world.store() as store:
        catalog = Catalog(store.engine, store.vault)
        target = catalog.get("table", fqn=TARGET)
        assert target is not None
        graph = lineage.graph(store.engine, target, 3, 0, catalog.get_many, lambda _: True)
    assert [edge["lineageDetails"]["source"] for edge in graph["upstreamEdges"]] == [
        "PipelineLineage"
    ]
