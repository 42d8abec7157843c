"""A cached listing still shows each workflow's runtime as Dagster has it at the time of the
request: the real server, reconciling with the GraphQL stand-in of ``tests/dagster``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from manifests import product

from dataos_defs.api.client import DataosClient
from dataos_defs.location import naming
from tests.dagster.graphql_stand_in import DagsterStandIn, serve
from tests.interfaces.conftest import Server, start_server, stop_server, wire

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def dagster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, DagsterStandIn]]:
    home: Path = tmp_path_factory.mktemp("dataos-home")
    stand_in = DagsterStandIn(list)
    with serve(stand_in) as url:
        server = start_server(home, extra_env={"DAGSTER_WEBSERVER_URL": url})
        try:
            yield server, stand_in
        finally:
            stop_server(server)


def test_runtimes_are_those_of_the_request(dagster: tuple[Server, DagsterStandIn]) -> None:
    server, stand_in = dagster
    job = naming.job_name("public", "base-copy")
    with DataosClient(server.url, api_key=server.api_key) as operator:
        operator.apply(wire(product("base")), None)

        def runtime() -> str | None:
            (item,) = operator.list_resources("workflow", "public", "base-copy")
            return item["runtime"]

        assert runtime() == runtime() == "pending"
        run_id = stand_in.add_run(job, "STARTED")
        assert runtime() == "running"
        stand_in.run(run_id).status = "FAILURE"
        assert runtime() == "failed"
        everything = operator.list_resources(None, None, None)
        assert [i["runtime"] for i in everything if i["type"] == "workflow"] == ["failed"]
        assert all(i["runtime"] is None for i in everything if i["type"] != "workflow")
