"""Poros' Resources in the catalog: the example data product (``resources/``) applied to the
store before the API server starts is cataloged at start (depots as database services with
their declared tables, workflows as pipelines whose tasks are their jobs, the datasets they
write as tables); deleting a Resource soft-deletes its entities, re-applying restores and
updates them (every version kept), and a re-start writes nothing new."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from dataos_defs.api.client import DataosClient
from dataos_defs.heimdall.identity import bootstrap_operator
from dataos_defs.manifest.loader import load_documents
from dataos_defs.poros.identities import Identities
from dataos_defs.poros.settings import Settings
from dataos_defs.poros.store import Store
from tests.interfaces.conftest import ROOT, Server, stop_server
from tests.metis.metis_helpers import client, ok
from tests.metis.test_tags_masks import start_server

sys.path.insert(0, str(ROOT / "tests" / "dagster"))
from dagster_support import apply_example

CUSTOMERS_360 = "lakehouse.default.shop.customers_360"
PIPELINE = "dataos-public.shop-daily"
WAIT_SECONDS = 20.0


def _wait_for(condition: Any) -> Any:
    started = time.monotonic()
    while True:
        found = condition()
        if found:
            return found
        assert time.monotonic() - started < WAIT_SECONDS, "timed out"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("poros-catalog")
    with Store.open(settings=Settings.from_env({"DATAOS_HOME": str(home)})) as store:
        bootstrap_operator(Identities(store), home, "http://127.0.0.1")  # as a first start
    apply_example(home)
    started = start_server(home)
    try:
        with client(started.url, started.api_key) as http:
            _wait_for(lambda: http.get(f"/pipelines/name/{PIPELINE}").status_code == 200)
        yield started
    finally:
        stop_server(started)


def test_depots_are_database_services_with_their_declared_tables(server: Server) -> None:
    with client(server.url, server.api_key) as http:
        services = ok(http.get("/services/databaseServices", params={"limit": 50}))["data"]
        kinds = {s["name"]: s["serviceType"] for s in services}
        assert {
            "shoppg": "Postgres",
            "lakehouse": "Iceberg",
            "landing": "CustomDatabase",
        }.items() <= kinds.items()
        assert all("connection" not in s for s in services)
        customers = ok(http.get("/tables/name/shoppg.shop.public.customers"))
    email = next(c for c in customers["columns"] if c["name"] == "email")
    assert [t["tagFQN"] for t in email["tags"]] == ["PII.Email"]
    assert customers["description"] == "customers of the web shop"
    assert customers["owners"][0]["name"] == "shop-team"


def test_a_workflow_is_a_pipeline_whose_tasks_are_its_jobs(server: Server) -> None:
    with client(server.url, server.api_key) as http:
        pipeline = ok(http.get(f"/pipelines/name/{PIPELINE}"))
    tasks = {t["name"]: t.get("downstreamTasks", []) for t in pipeline["tasks"]}
    assert tasks["ingest-customers"] == ["customer-360"]
    assert tasks["ingest-orders"] == ["customer-360"]
    assert "quality-customer-360" in tasks
    assert pipeline["scheduleInterval"] == "30 5 * * *"
    assert pipeline["service"]["name"] == "dataos-public"


def test_customers_360_has_a_dataset_page_and_is_found_by_search(server: Server) -> None:
    with client(server.url, server.api_key) as http:
        table = ok(http.get(f"/tables/name/{CUSTOMERS_360}"))
        found = ok(
            http.get("/search/query", params={"q": "customers_360", "index": "table_search_index"})
        )
    assert table["description"] == "one row per customer with their order totals"
    assert [t["tagFQN"] for t in table["tags"]] == ["PII.Email"]
    names = [hit["_source"]["fullyQualifiedName"] for hit in found["hits"]["hits"]]
    assert CUSTOMERS_360 in names


def test_deleting_a_workflow_soft_deletes_its_pipeline_and_reapplying_restores_it(
    server: Server,
) -> None:
    with client(server.url, server.api_key) as http:
        before = ok(http.get(f"/pipelines/name/{PIPELINE}"))
        documents = load_documents([ROOT / "resources" / "workflow.yaml"])
        manifest = next(d.data for d in documents if d.data["name"] == "shop-daily")
        with DataosClient(server.url, api_key=server.api_key) as admin:
            admin.delete_resource("workflow", "shop-daily", "public", force=True)
        _wait_for(lambda: http.get(f"/pipelines/name/{PIPELINE}").status_code == 404)
        gone = ok(http.get(f"/pipelines/name/{PIPELINE}", params={"include": "deleted"}))
        assert gone["deleted"] is True
        assert ok(http.get(f"/tables/name/{CUSTOMERS_360}"))  # the dataset stays
        changed = {**manifest, "description": "rebuilt every morning"}
        with DataosClient(server.url, api_key=server.api_key) as admin:
            admin.apply([{"manifest": changed}], "public")
        back = _wait_for(
            lambda: (r := http.get(f"/pipelines/name/{PIPELINE}")).status_code == 200 and r.json()
        )
        assert back["description"] == "rebuilt every morning" and back["id"] == before["id"]
        versions = ok(http.get(f"/pipelines/{before['id']}/versions"))["versions"]
    assert len(versions) >= 3 and back["version"] > before["version"]


def test_a_restart_catalogs_nothing_new(server: Server) -> None:
    with client(server.url, server.api_key) as http:
        versions = [None, ok(http.get(f"/tables/name/{CUSTOMERS_360}"))["version"]]
        while versions[-1] != versions[-2]:  # the last re-apply's sync has settled
            time.sleep(1.5)
            versions.append(ok(http.get(f"/tables/name/{CUSTOMERS_360}"))["version"])
        before = versions[-1]
    stop_server(server)
    again = start_server(server.home)
    try:
        with client(again.url, again.api_key) as http:
            time.sleep(2)
            assert ok(http.get(f"/tables/name/{CUSTOMERS_360}"))["version"] == before
    finally:
        server.process = again.process
        server.url = again.url
