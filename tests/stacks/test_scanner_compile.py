"""Compiling scanner workflows and datasets for Metis: every dataset asset carries its Metis
FQN and a link to its catalog page; a scanner job requires its depot's resource (its
credentials are read from the store when it runs, never compiled)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from dataos_defs.compile import CompileInput, compile_definitions
from dataos_defs.location.depot_resources import DepotResource
from dataos_defs.location.executors import executors
from dataos_defs.manifest.loader import load_documents
from dataos_defs.manifest.validate import parse_documents

ROOT = Path(__file__).resolve().parents[2]


def _definitions() -> dg.Definitions:
    parsed = parse_documents(load_documents([ROOT / "resources"], env={}))
    inputs = [CompileInput(p.model, run_as="shop-pipeline") for p in parsed]
    return compile_definitions(inputs, executors(), depot_resource=DepotResource.of)


def test_every_dataset_asset_names_its_metis_table_and_links_to_it() -> None:
    graph = _definitions().resolve_asset_graph()
    node = graph.get(dg.AssetKey(["lakehouse", "shop", "customers_360"]))
    metadata = node.metadata
    assert metadata["dataos/metis_fqn"] == "lakehouse.default.shop.customers_360"
    link = metadata["dataos/metis_url"]
    assert isinstance(link, dg.UrlMetadataValue)
    assert link.url == "/catalog/datasets/lakehouse.default.shop.customers_360"


def test_a_scanner_job_requires_the_resource_of_the_depot_it_scans() -> None:
    definitions = _definitions()
    graph = definitions.resolve_asset_graph()
    scan = graph.get(dg.AssetKey(["dataos", "public", "shop-catalog", "scan-shoppg"]))
    assert scan.assets_def.required_resource_keys - {"io_manager"} == {"depot_shoppg"}
    lake = graph.get(dg.AssetKey(["dataos", "public", "shop-catalog", "scan-lakehouse"]))
    assert lake.assets_def.required_resource_keys - {"io_manager"} == {"depot_lakehouse"}
