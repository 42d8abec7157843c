"""The flare executor as the code location wires it: depots read from the store at run time."""

from __future__ import annotations

from pathlib import Path

import pytest
from dagster_support import apply_example

from dataos_defs.definitions import build_definitions
from dataos_defs.executors import StoreDepots
from dataos_defs.manifest.loader import load_documents
from dataos_defs.manifest.validate import parse_documents
from dataos_defs.poros.apply import apply_resources
from dataos_defs.poros.settings import Settings
from dataos_defs.poros.store import Store

PRODUCT = """\
name: drops
version: v2alpha
type: depot
depot:
  type: FILE
  external: true
  file:
    path: data/drops
    format: csv
---
name: lake
version: v2alpha
type: depot
depot:
  type: LAKEHOUSE
  external: false
  lakehouse:
    warehouse: warehouse
    format: iceberg
---
name: books
version: v1
type: workflow
workflow:
  dag:
    - name: load
      spec:
        stack: flare:7.0
        compute: runnable-default
        stackSpec:
          job:
            inputs:
              - name: products
                dataset: dataos://drops:none/products?acl=r
                format: csv
            steps:
              - sequence:
                  - name: books
                    sql: SELECT product_id, unit_price FROM products WHERE category = 'books'
            outputs:
              - name: books
                dataset: dataos://lake:shop/books?acl=rw
                format: iceberg
"""


def test_a_flare_job_runs_in_process_from_the_compiled_location(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    drops = tmp_path / "data" / "drops"
    drops.mkdir(parents=True)
    (drops / "products.csv").write_text(
        "product_id,category,unit_price\np1,books,12.5\np2,games,40\np3,books,7.25\n"
    )
    (tmp_path / "product.yaml").write_text(PRODUCT)
    monkeypatch.setenv("DATAOS_HOME", str(tmp_path))
    monkeypatch.delenv("DATAOS_DATABASE_URL", raising=False)
    settings = Settings.from_env()
    with Store.open(settings=settings) as store:
        parsed = parse_documents(load_documents([tmp_path / "product.yaml"]))
        apply_resources(store, parsed, None, "tester")

    defs = build_definitions(settings)
    result = defs.resolve_job_def("public__books").execute_in_process()

    assert result.success
    [materialization] = result.asset_materializations_for_node("public__books__load")
    assert materialization.asset_key.path == ["lake", "shop", "books"]
    assert materialization.metadata["dagster/row_count"].value == 2


def test_depot_credentials_come_from_the_referenced_instance_secrets(tmp_path: Path) -> None:
    apply_example(tmp_path)
    with Store.open(settings=Settings.from_env({"DATAOS_HOME": str(tmp_path)})) as store:
        depots = StoreDepots(store)
        assert depots.depot("shoppg").depot.type == "POSTGRESQL"
        assert depots.credentials("shoppg", "r") == {
            "username": "shop",
            "password": "shop-local-only",
        }
        assert depots.credentials("landing", "r") == {}
