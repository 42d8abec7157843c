"""Helpers for the flare tests: the example's depots and jobs, a resolver, a file depot and a
lakehouse under tmp. (A module of its own: several test folders have a ``conftest``.)"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.dataset as pads
import yaml

from dataos_defs.manifest.depot import Depot
from dataos_defs.manifest.stacks.flare import FlareSpec
from dataos_defs.manifest.workflow import Workflow
from dataos_defs.stacks.flare import FlareResult, run_flare_job

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "s3cret-never-shown"

PRODUCTS_CSV = """product_id,category,unit_price
p1,books,12.50
p2,games,40.00
p3,books,7.25
"""


@dataclass
class Resolver:
    """The ``DepotResolver`` a caller would build from the store and the secrets vault."""

    depots: dict[str, Depot]
    secrets: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)

    def depot(self, name: str) -> Depot:
        return self.depots[name]

    def credentials(self, name: str, acl: str) -> Mapping[str, str]:
        return self.secrets.get((name, acl), {})


def example_depots() -> dict[str, dict[str, Any]]:
    text = (ROOT / "resources" / "depots.yaml").read_text()
    return {doc["name"]: doc for doc in yaml.safe_load_all(text)}


def example_jobs() -> dict[str, FlareSpec]:
    data = yaml.safe_load((ROOT / "resources" / "workflow.yaml").read_text())
    workflow = Workflow.model_validate(data)
    return {
        job.name: job.spec.stack_spec
        for job in workflow.workflow.dag
        if job.spec is not None and isinstance(job.spec.stack_spec, FlareSpec)
    }


def flare(job: dict[str, Any]) -> FlareSpec:
    return FlareSpec.model_validate({"job": job})


@dataclass
class Shop:
    """The example's world: ``run`` arguments plus a psycopg connection string."""

    resolver: Resolver
    home: Path
    state_dir: Path
    conninfo: str

    def sql(self, statement: str, params: Any = None) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            cur = conn.execute(statement, params)
            return cur.fetchall() if cur.description else []


SCHEMA_SQL = """
CREATE TABLE public.customers (
  customer_id integer PRIMARY KEY, email text, first_name text, last_name text,
  age integer, country text, signed_up timestamptz);
CREATE TABLE public.orders (
  order_id integer PRIMARY KEY, customer_id integer, product_id text,
  ordered_at timestamp, quantity integer, paid boolean, note text);
INSERT INTO public.customers VALUES
  (1, ' Ada@Example.com ', 'Ada', 'Lovelace', 36, 'UK', '2024-01-02 10:00:00+00'),
  (2, 'alan@example.com', 'Alan', 'Turing', 41, 'UK', NULL),
  (3, 'grace@example.com', 'Grace', 'Hopper', NULL, 'US', '2024-03-04 05:06:07.5+00');
INSERT INTO public.orders VALUES
  (10, 1, 'p1', '2024-05-01 09:00:00', 2, true, ''),
  (11, 1, 'p2', '2024-05-01 17:30:00', 1, false, NULL),
  (12, 2, 'p3', '2024-05-02 08:15:00', 4, true, 'gift, "wrapped"');
"""


def local_resolver(tmp_path: Path, files_path: str = "data/files") -> Resolver:
    """``landing`` and ``lakehouse`` as in the example, plus ``files`` (parquet) for outputs."""
    docs = example_depots()
    docs["files"] = {
        "name": "files",
        "version": "v2alpha",
        "type": "depot",
        "depot": {"type": "FILE", "file": {"path": files_path, "format": "parquet"}},
    }
    depots = {name: Depot.model_validate(doc) for name, doc in docs.items() if name != "shoppg"}
    return Resolver(depots)


def run_job(tmp_path: Path, job: dict[str, Any], **kwargs: Any) -> FlareResult:
    resolver = kwargs.pop("resolver", None) or local_resolver(tmp_path)
    return run_flare_job(flare(job), resolver, tmp_path / "state", home=tmp_path / "home", **kwargs)


def read_folder(path: Path, fmt: str = "parquet") -> pa.Table:
    return pads.dataset(str(path), format=fmt).to_table()


def transform(tmp_path: Path, sql: str, functions: list[dict[str, Any]]) -> pa.Table:
    """Run one step (``sql`` on the input ``src`` holding ``VALUES``) and read its output."""
    job = {
        "inputs": [{"name": "src", "query": sql}],
        "steps": [
            {"sequence": [{"name": "out", "sql": "SELECT * FROM src", "functions": functions}]}
        ],
        "outputs": [{"name": "out", "dataset": "dataos://files:none/out?acl=rw"}],
    }
    run_job(tmp_path, job)
    return read_folder(tmp_path / "home" / "data" / "files" / "out")
