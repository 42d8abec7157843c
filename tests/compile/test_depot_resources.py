"""Applied depots become Dagster resources; the asset of each job requires those it reaches.

Compiled as the code location compiles them (``DepotResource.of``). Runs happen in process
with a depot resource that answers from memory, so that the executor's path through the
resources is exercised without a store (``tests/dagster`` runs it against a real one).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import ClassVar

import dagster as dg
import pytest
from compile_helpers import compile_texts, model, summarize
from dagster._core.remote_representation.external_data import RepositorySnap
from dagster._serdes import serialize_value

from dataos_defs.compile import JobContext, StackOutput
from dataos_defs.location.depot_resources import DepotResource, ResourceDepots
from dataos_defs.manifest.depot import Depot

PASSWORD = "inline-s3cret-9431"
PG = f"""
    name: pg
    version: v1
    type: depot
    depot:
      type: JDBC
      external: true
      connectionSecret:
        - acl: r
          data: {{username: reader, password: {PASSWORD}}}
      spec: {{subprotocol: postgresql, host: db.example.com, port: 5432, database: shop}}
"""
LAKE = """
    name: lake
    version: v2alpha
    type: depot
    depot:
      type: LAKEHOUSE
      external: false
      lakehouse: {warehouse: warehouse, format: iceberg}
"""
FILES = """
    name: files
    version: v2alpha
    type: depot
    depot:
      type: FILE
      external: true
      file: {path: data/files, format: csv}
"""
COPY = """
    name: copy
    version: v1
    type: workflow
    workflow:
      dag:
        - name: load
          spec:
            stack: flare:7.0
            stackSpec:
              job:
                inputs: {inputs}
                outputs: [{{name: {output}, dataset: "dataos://lake:s/out?acl=rw"}}]
"""
CHECK = """
    name: check
    version: v1
    type: workflow
    workflow:
      dag:
        - name: quality
          spec:
            stack: soda
            stackSpec:
              inputs:
                - dataset: dataos://lake:s/out
                  checks: [row_count > 0, {check}]
"""


def copy(*inputs: str) -> str:
    """A flare job writing its first input (named ``a`` or ``q``) to ``lake:s/out``."""
    output = "q" if inputs[0].startswith("{name: q") else "a"
    return COPY.format(inputs="[" + ", ".join(inputs) + "]", output=output)


def required(defs: dg.Definitions, op: str) -> list[str]:
    resources: list[str] = summarize(defs)["ops"][op]["resources"]
    return resources


def test_every_applied_depot_is_a_resource_of_its_name_and_type() -> None:
    defs = compile_texts(PG, LAKE, FILES, depot_resource=DepotResource.of)
    assert summarize(defs)["resources"] == {
        "depot_files": {"name": "files", "type": "FILE"},
        "depot_lake": {"name": "lake", "type": "LAKEHOUSE"},
        "depot_pg": {"name": "pg", "type": "JDBC"},
    }


def test_an_asset_requires_the_applied_depots_it_reads_and_writes() -> None:
    text = copy(
        '{name: a, dataset: "dataos://pg:public/a"}', '{name: b, dataset: "dataos://gone:x/b"}'
    )
    defs = compile_texts(PG, LAKE, FILES, text, depot_resource=DepotResource.of)
    assert required(defs, "public__copy__load") == ["depot_lake", "depot_pg"]


def test_a_query_input_may_name_any_applied_depot() -> None:
    text = copy("{name: q, query: SELECT * FROM pg.public.a}")
    defs = compile_texts(PG, LAKE, FILES, text, depot_resource=DepotResource.of)
    assert required(defs, "public__copy__load") == ["depot_files", "depot_lake", "depot_pg"]


@pytest.mark.parametrize(
    ("check", "depots"),
    [
        ("values in (id) must exist in pg.public.customers (id)", ["depot_lake", "depot_pg"]),
        ("values in (id) must exist in s.customers (id)", ["depot_lake"]),
        ("row_count same as files.none.products", ["depot_files", "depot_lake"]),
    ],
)
def test_a_soda_check_against_another_depot_requires_it(check: str, depots: list[str]) -> None:
    text = CHECK.format(check=f'"{check}"')
    defs = compile_texts(PG, LAKE, FILES, text, depot_resource=DepotResource.of)
    assert required(defs, "public__check__quality") == depots


def test_without_a_depot_resource_factory_nothing_is_required() -> None:
    defs = compile_texts(PG, LAKE, copy('{name: a, dataset: "dataos://pg:public/a"}'))
    assert summarize(defs)["resources"] == {}
    assert required(defs, "public__copy__load") == []


def test_no_secret_value_reaches_the_serialized_repository() -> None:
    text = copy('{name: a, dataset: "dataos://pg:public/a"}')
    defs = compile_texts(PG, LAKE, text, depot_resource=DepotResource.of)
    repo = defs.get_repository_def()
    snapshot = serialize_value(RepositorySnap.from_def(repo))
    assert "depot_pg" in snapshot and "db.example.com" not in snapshot
    assert PASSWORD not in snapshot
    assert PASSWORD not in repr(repo.get_job("public__copy").run_config_schema.config_type)


class MemoryDepot(DepotResource):
    """A depot resource answering from :attr:`known` instead of the store."""

    known: ClassVar[dict[str, Depot]] = {}

    def depot(self) -> Depot:
        return self.known[self.name]

    def credentials(self, acl: str) -> Mapping[str, str]:
        return {"username": f"{self.name}-{acl}"}


def test_an_executor_reaches_its_depots_through_the_resources() -> None:
    for name, text in (("pg", PG), ("lake", LAKE)):
        depot = model(text)
        assert isinstance(depot, Depot)
        MemoryDepot.known[name] = depot
    seen: dict[str, object] = {}

    def flare(context: dg.AssetExecutionContext, job: JobContext) -> Iterator[StackOutput]:
        depots = ResourceDepots.of(context, job.depots)
        seen["types"] = [depots.depot(name).depot.type for name in job.depots]
        seen["credentials"] = dict(depots.credentials("pg", "r"))
        with pytest.raises(LookupError, match="depot 'files' is not applied"):
            depots.depot("files")
        yield from (StackOutput(key) for key in job.outputs)

    text = copy('{name: a, dataset: "dataos://pg:public/a"}')
    defs = compile_texts(
        PG,
        LAKE,
        text,
        executors={"flare": flare},
        depot_resource=lambda depot: MemoryDepot(name=depot.name, type=depot.depot.type),
    )
    result = defs.resolve_job_def("public__copy").execute_in_process(
        instance=dg.DagsterInstance.ephemeral()
    )
    assert result.success
    assert seen == {"types": ["LAKEHOUSE", "JDBC"], "credentials": {"username": "pg-r"}}
