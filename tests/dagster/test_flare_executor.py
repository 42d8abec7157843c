"""The flare executor as the code location wires it: depots read from the store at run time,
through the depot resources the job's asset requires, in process and in the step processes
the location's executor forks from its preloaded server."""

from __future__ import annotations

from pathlib import Path

import pytest
from dagster import AssetKey, DagsterInstance, execute_job
from dagster._core.definitions.reconstruct import ReconstructableRepository
from dagster_support import DROPS_AND_LAKE, ROOT, apply_example

from dataos_defs.location.definitions import build_definitions
from dataos_defs.manifest.loader import load_documents
from dataos_defs.manifest.validate import parse_documents
from dataos_defs.poros.apply import apply_resources
from dataos_defs.poros.depots import StoreDepots
from dataos_defs.poros.identities import Identities
from dataos_defs.poros.settings import Settings
from dataos_defs.poros.store import Store

PRODUCT = (
    DROPS_AND_LAKE
    + """\
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
)


def _apply_product(home: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    drops = home / "data" / "drops"
    drops.mkdir(parents=True)
    (drops / "products.csv").write_text(
        "product_id,category,unit_price\np1,books,12.5\np2,games,40\np3,books,7.25\n"
    )
    (home / "product.yaml").write_text(PRODUCT)
    monkeypatch.setenv("DATAOS_HOME", str(home))
    monkeypatch.delenv("DATAOS_DATABASE_URL", raising=False)
    monkeypatch.delenv("DATAOS_EXECUTORS", raising=False)
    settings = Settings.from_env()
    with Store.open(settings=settings) as store:
        parsed = parse_documents(load_documents([home / "product.yaml"]))
        apply_resources(store, parsed, None, "tester")
        Identities(store).create_user("tester", "application")
    return settings


def test_a_flare_job_runs_in_process_from_the_compiled_location(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _apply_product(tmp_path, monkeypatch)

    defs = build_definitions(settings)
    assets = defs.resolve_assets_def(AssetKey(["lake", "shop", "books"]))
    assert assets.required_resource_keys >= {"depot_drops", "depot_lake"}
    result = defs.resolve_job_def("public__books").execute_in_process()

    assert result.success
    [materialization] = result.asset_materializations_for_node("public__books__load")
    assert materialization.asset_key.path == ["lake", "shop", "books"]
    assert materialization.metadata["dagster/row_count"].value == 2


@pytest.mark.slow
def test_a_flare_job_runs_in_a_step_process_forked_from_the_preloaded_location(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _apply_product(tmp_path / "home", monkeypatch)
    repository = ReconstructableRepository.for_module(
        "dataos_defs.location.definitions", "defs", working_directory=str(ROOT)
    )
    job = repository.get_reconstructable_job("public__books")
    (tmp_path / "dagster").mkdir()
    with (
        DagsterInstance.local_temp(str(tmp_path / "dagster")) as instance,
        execute_job(job, instance=instance) as result,
    ):
        assert result.success
        [materialization] = result.asset_materializations_for_node("public__books__load")
        assert materialization.metadata["dagster/row_count"].value == 2
        engine = [e.message or "" for e in result.all_events if e.is_engine_event]
        assert any("multiprocess executor" in message for message in engine)


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
