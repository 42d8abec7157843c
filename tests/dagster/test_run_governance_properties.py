"""Property: whatever the user's tags, the input's values and the data policies, a flare
job run as that user never writes a value the user's governed read of the input (the
Gateway's ``governed_select`` run directly on it) would not show; a copy writes exactly
those rows.

Real parts throughout: the store and Heimdall of the code location's run-time governance,
the flare runner reading a Parquet dataset of a file depot and writing one, DuckDB on both
sides. Each example only replaces the data policies and the user; the access policies and
the column tags (``email`` is ``PII.Email``, declared on the depot) come from the store.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dataos_defs.compile import JobContext
from dataos_defs.gateway.model import Column, Table, TableName
from dataos_defs.gateway.policies import DataPolicies
from dataos_defs.gateway.rewrite import governed_select
from dataos_defs.location.governance import RunGovernor, Runtime, runtime
from dataos_defs.manifest.loader import parse_yaml
from dataos_defs.manifest.policy import Policy
from dataos_defs.manifest.stacks.flare import FlareSpec
from dataos_defs.manifest.validate import parse_documents
from dataos_defs.poros.apply import apply_resources
from dataos_defs.poros.depots import StoreDepots
from dataos_defs.poros.identities import Identities, User
from dataos_defs.poros.settings import Settings
from dataos_defs.poros.store import Store
from dataos_defs.stacks.flare import run_flare_job

ROLES = ("roles:id:a", "roles:id:b", "roles:id:c")
WORLD = """
name: pq
version: v2alpha
type: depot
depot:
  type: FILE
  file: {path: data/pq, format: parquet}
  datasets:
    - collection: none
      dataset: people
      columns: [{name: email, tags: [PII.Email]}]
---
name: out
version: v2alpha
type: depot
depot:
  type: FILE
  file: {path: data/out, format: parquet}
---
name: prop-access
version: v1
type: policy
layer: user
policy:
  access:
    subjects: {tags: [[users:id:prop]]}
    predicates: [read, write]
    objects: {paths: ["dataos://pq:**", "dataos://out:**"]}
    allow: true
"""
SPEC = FlareSpec.model_validate(
    {
        "job": {
            "inputs": [
                {"name": "people", "dataset": "dataos://pq:none/people", "format": "parquet"}
            ],
            "steps": [{"sequence": [{"name": "copied", "sql": "SELECT * FROM people"}]}],
            "outputs": [{"name": "copied", "dataset": "dataos://out:none/copied?acl=rw"}],
        }
    }
)
JOB = JobContext("public", "prop", "copy", "flare", None, SPEC, ())
SCHEMA = pa.schema(
    [("id", pa.int64()), ("email", pa.string()), ("country", pa.string()), ("age", pa.int64())]
)

rows = st.lists(
    st.tuples(
        st.emails(),
        st.sampled_from(["UK", "US", "FR"]),
        st.none() | st.integers(min_value=0, max_value=99),
    ),
    min_size=1,
    max_size=8,
)
users = st.sets(st.sampled_from(ROLES))
masks = st.one_of(
    st.tuples(
        st.sampled_from([{"names": ["email"]}, {"tags": ["PII.Email"]}]),
        st.sampled_from(
            [
                {"operator": "hash", "hash": {"algo": "sha256"}},
                {"operator": "redact"},
                {
                    "operator": "regex_replace",
                    "regex_replace": {"pattern": "@.*", "replacement": "@x"},
                },
                {"operator": "pass_through"},
            ]
        ),
    ),
    st.tuples(
        st.just({"names": ["age"]}),
        st.sampled_from(
            [
                {"operator": "bucket_number", "bucket_number": {"buckets": [18, 40, 65]}},
                {"operator": "pass_through"},
            ]
        ),
    ),
    st.tuples(st.just({"names": ["country"]}), st.just({"operator": "redact"})),
)
filters = st.one_of(
    st.builds(
        lambda v: {"column": "country", "operator": "in", "value": v},
        st.lists(st.sampled_from(["UK", "US", "FR"]), min_size=1, unique=True),
    ),
    st.builds(
        lambda v: {"column": "age", "operator": "greater_than", "value": v},
        st.integers(min_value=0, max_value=99),
    ),
)
policy = st.one_of(
    st.tuples(st.just("mask"), masks, st.sampled_from(ROLES), st.integers(1, 100)),
    st.tuples(st.just("filter"), filters, st.sampled_from(ROLES), st.just(None)),
)


def policy_model(index: int, drawn: tuple[Any, ...]) -> Policy:
    kind, body, role, priority = drawn
    data: dict[str, Any] = {"type": kind, "selector": {"user": {"match": "any", "tags": [role]}}}
    if kind == "mask":
        data["selector"]["column"], data["mask"] = body
        data["priority"] = priority
    else:
        data["filters"] = [body]
    return Policy.model_validate(
        {
            "name": f"p{index}",
            "version": "v1",
            "type": "policy",
            "layer": "user",
            "policy": {"data": data},
        }
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Runtime]]:
    home = tmp_path_factory.mktemp("home")
    (home / "data" / "pq").mkdir(parents=True)
    settings_ = Settings.from_env({"DATAOS_HOME": str(home)})
    with Store.open(settings=settings_) as store:
        Identities(store).create_user("prop", "application")
        documents, problems = parse_yaml(textwrap.dedent(WORLD), "world.yaml")
        assert not problems
        apply_resources(store, parse_documents(documents), None, "operator")
    state = runtime(settings_)
    state.follow()
    yield home, state


@pytest.mark.slow
@settings(max_examples=60, deadline=None)
@given(rows=rows, tags=users, drawn=st.lists(policy, max_size=4))
def test_a_run_writes_only_what_its_user_may_read(
    world: tuple[Path, Runtime],
    rows: list[tuple[Any, ...]],
    tags: set[str],
    drawn: list[tuple[Any, ...]],
) -> None:
    home, state = world
    values = [(i, *row) for i, row in enumerate(rows)]
    source = home / "data" / "pq" / "people.parquet"
    pq.write_table(
        pa.Table.from_pylist([dict(zip(SCHEMA.names, v, strict=True)) for v in values], SCHEMA),
        source,
    )
    policies = DataPolicies([policy_model(i, d) for i, d in enumerate(drawn)])
    state.policies = policies
    user_tags = ("users:id:prop", *sorted(tags))
    user = User("prop", "application", None, None, user_tags, datetime.now(UTC), "test")
    governor = RunGovernor(state, JOB, user)

    run_flare_job(SPEC, StoreDepots(state.store), home / "state", home=home, governor=governor)

    written = pads.dataset(str(home / "data" / "out" / "copied"), format="parquet")
    output = sorted((tuple(r.values()) for r in written.to_table().to_pylist()), key=repr)
    assert output == sorted(governed_read(source, policies, user_tags), key=repr)


def governed_read(source: Path, policies: DataPolicies, user_tags: tuple[str, ...]) -> list[Any]:
    """The rows the Gateway would show the user: ``governed_select`` on the input itself."""
    con = duckdb.connect()
    try:
        con.execute(f"CREATE TABLE raw AS SELECT * FROM read_parquet('{source}')")
        columns = [(str(r[0]), str(r[1])) for r in con.execute("DESCRIBE raw").fetchall()]
        table = Table(
            TableName("pq", "none", "people"),
            tuple(Column(c, t, ("PII.Email",) if c == "email" else ()) for c, t in columns),
            '"raw"',
        )
        sql = governed_select(table, policies.governance(table, user_tags), "duckdb")
        return [tuple(row) for row in con.execute(sql.sql(dialect="duckdb")).fetchall()]
    finally:
        con.close()
