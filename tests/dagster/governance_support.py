"""A small governed world for the run-time governance tests: a store under a temporary
``DATAOS_HOME`` with users, depots, access and data policies, and workflows that copy a
tagged dataset into the lakehouse, run in process from the compiled code location.

Imported as ``from governance_support import ...`` (pytest puts this folder on ``sys.path``).

Users: ``alice`` and ``uma`` are persons (``roles:id:user``); ``uma`` also has
``roles:id:uk-analyst`` (a row filter keeps UK rows); ``etl-bot`` is an application whose
``roles:id:raw-reader`` a ``pass_through`` policy exempts from the e-mail mask. Every e-mail
tagged ``PII.Email`` is hashed (sha256) for everybody else.
"""

from __future__ import annotations

import hashlib
import json
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import pyarrow as pa
from pyiceberg.catalog import Catalog

from dataos_defs.adapters import iceberg
from dataos_defs.location import naming
from dataos_defs.location.definitions import build_definitions
from dataos_defs.manifest.loader import parse_yaml
from dataos_defs.manifest.validate import parse_documents
from dataos_defs.poros.apply import apply_resources
from dataos_defs.poros.identities import Identities
from dataos_defs.poros.records import ResourceKey
from dataos_defs.poros.settings import Settings
from dataos_defs.poros.store import Store

CUSTOMERS = [
    (1, "ada@example.com", "UK", 36),
    (2, "alan@example.com", "UK", 41),
    (3, "grace@example.com", "US", 85),
    (4, "linus@example.com", "FI", 20),
]
CUSTOMERS_CSV = "id,email,country,age\n" + "".join(f"{i},{e},{c},{a}\n" for i, e, c, a in CUSTOMERS)

DEPOTS = """
name: landing
version: v2alpha
type: depot
depot:
  type: FILE
  external: true
  file: {path: data/landing, format: csv}
  datasets:
    - collection: none
      dataset: customers
      columns:
        - {name: email, tags: [PII.Email]}
---
name: lake
version: v2alpha
type: depot
depot:
  type: LAKEHOUSE
  external: false
  lakehouse: {warehouse: warehouse, format: iceberg}
"""

ACCESS = """
name: {name}
version: v1
type: policy
layer: user
policy:
  access:
    subjects: {{tags: [{subjects}]}}
    predicates: [{predicates}]
    objects: {{paths: [{paths}]}}
    allow: {allow}
"""

DATA_POLICIES = """
name: pii-email-hash
version: v1
type: policy
layer: user
policy:
  data:
    type: mask
    priority: 50
    selector:
      column: {tags: [PII.Email]}
      user: {match: any, tags: ["users:id:*"]}
    mask: {operator: hash, hash: {algo: sha256}}
---
name: pii-raw-readers
version: v1
type: policy
layer: user
policy:
  data:
    type: mask
    priority: 10
    selector:
      column: {tags: [PII.Email]}
      user: {match: any, tags: ["roles:id:raw-reader"]}
    mask: {operator: pass_through}
---
name: uk-analysts
version: v1
type: policy
layer: user
policy:
  data:
    type: filter
    selector:
      user: {match: any, tags: ["roles:id:uk-analyst"]}
    filters:
      - {column: country, operator: in, value: [UK]}
"""

COPY = """
name: {name}
version: v1
type: workflow
workflow:
  dag:
    - name: copy
      spec:
        stack: flare:7.0
        compute: runnable-default
        stackSpec:
          job:
            inputs:
              - {{name: customers, dataset: "{source}", format: csv}}
            steps:
              - sequence:
                  - name: copied
                    sql: {sql}
            outputs:
              - {{name: copied, dataset: "{target}?acl=rw", format: iceberg}}
"""

COPY_SQL = "SELECT id, email, country, age FROM customers"
SOURCE = "dataos://landing:none/customers"
TARGET = "dataos://lake:shop/customers_copy"

CHECK = """
name: {name}
version: v1
type: workflow
workflow:
  dag:
    - name: quality
      spec:
        stack: soda+python:1.0
        compute: runnable-default
        stackSpec:
          inputs:
            - dataset: dataos://landing:none/customers
              checks:
                - row_count = 4
                - invalid_count(email) = 0:
                    valid format: email
"""


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def access(name: str, subjects: str, predicates: str, paths: str, allow: bool = True) -> str:
    return ACCESS.format(
        name=name, subjects=subjects, predicates=predicates, paths=paths, allow=str(allow).lower()
    )


@dataclass
class World:
    home: Path
    settings: Settings

    def store(self) -> Store:
        return Store.open(settings=self.settings)

    def apply(self, text: str, actor: str = "operator", run_as: str | None = None) -> None:
        """Apply manifests; workflows among them run as ``run_as`` when given."""
        documents, problems = parse_yaml(textwrap.dedent(text), "world.yaml")
        assert not problems, problems
        parsed = parse_documents(documents)
        who = {
            ResourceKey(p.kind, p.name, p.workspace(None)): run_as
            for p in parsed
            if run_as is not None and p.kind == "workflow"
        }
        with self.store() as store:
            apply_resources(store, parsed, None, actor, run_as=who)

    def copy(
        self,
        name: str,
        run_as: str,
        source: str = SOURCE,
        target: str = TARGET,
        sql: str = COPY_SQL,
    ) -> None:
        """Apply, as ``run_as`` and running as ``run_as``, a workflow copying ``source``."""
        text = COPY.format(name=name, source=source, target=target, sql=sql)
        self.apply(text, actor=run_as, run_as=run_as)

    def delete(self, kind: str, name: str, workspace: str | None = None) -> None:
        with self.store() as store:
            store.delete(kind, name, workspace, "operator", force=True)

    def run(self, workflow: str) -> dg.ExecuteInProcessResult:
        """Run a workflow's job in process from the Definitions compiled from the store."""
        name = naming.job_name("public", workflow)
        job = build_definitions(self.settings).resolve_job_def(name)
        with dg.DagsterInstance.ephemeral() as instance:
            return job.execute_in_process(instance=instance, raise_on_error=False)

    def catalog(self) -> Catalog:
        return iceberg.open_catalog("lake", self.home / "warehouse")

    def table(self, collection: str, dataset: str) -> pa.Table | None:
        catalog = self.catalog()
        if not iceberg.table_exists(catalog, collection, dataset):
            return None
        return iceberg.read_table(catalog, collection, dataset)

    def decisions(self) -> list[dict[str, Any]]:
        path = self.home / "decisions.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def make_world(home: Path) -> World:
    """Users, depots (applied by the operator), access and data policies; no workflow."""
    landing = home / "data" / "landing"
    landing.mkdir(parents=True)
    (landing / "customers.csv").write_text(CUSTOMERS_CSV)
    (landing / "orders.csv").write_text("id,customer\n10,1\n11,2\n")
    settings = Settings.from_env({"DATAOS_HOME": str(home)})
    world = World(home, settings)
    with world.store() as store:
        people = Identities(store)
        people.create_user("alice", "person")
        people.create_user("uma", "person", tags=["roles:id:uk-analyst"])
        people.create_user("etl-bot", "application", tags=["roles:id:raw-reader"])
    world.apply(DEPOTS)
    world.apply(
        access(
            "people-read-landing",
            "[users:id:alice], [users:id:uma], [users:id:etl-bot]",
            "read",
            "dataos://landing:**",
        )
        + "---"
        + access(
            "people-use-lake",
            "[users:id:alice], [users:id:uma], [users:id:etl-bot]",
            "read, write, select",
            "dataos://lake:**",
        )
        + "---"
        + DATA_POLICIES
    )
    return world


def failure_messages(result: dg.ExecuteInProcessResult) -> list[str]:
    """Every message of the failed steps' errors, causes included."""
    messages = []
    for event in result.all_events:
        if not event.is_step_failure:
            continue
        error = event.step_failure_data.error
        while error is not None:
            messages.append(error.message)
            error = error.cause
    return messages


def emails(table: pa.Table) -> list[str]:
    return sorted(str(row["email"]) for row in table.to_pylist())


def rows_of(values: Iterable[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return sorted(values)
