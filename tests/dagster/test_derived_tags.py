"""Column tags follow the data: a run records, before it writes an output, the tags each
output column inherits from the columns it was made of; Heimdall and the Gateway see them,
so a mask selecting ``PII.Email`` hashes an e-mail copied into a lakehouse dataset by a
pipeline that could read it raw."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from governance_support import CUSTOMERS, World, make_world, sha256
from sqlalchemy import select

from dataos_defs.gateway.service import Caller, Gateway, QueryRequest
from dataos_defs.heimdall.service import Heimdall
from dataos_defs.poros.column_tags import DerivedColumnTags, DerivedTags
from dataos_defs.poros.tables import ColumnTagRow

CLUSTER = """
name: minervalake
version: v1
type: cluster
cluster:
  compute: query-default
  type: minerva
  minerva:
    replicas: 1
    depots:
      - address: dataos://lake
"""
QUERY = "SELECT id, email FROM lake.shop.customers_copy ORDER BY id"
ALICE = Caller("alice", ("roles:id:user", "users:id:alice"))
TAGS_VISIBLE_S = 30.0
"""Heimdall and the Gateway see a store change within about a second; the bound is wide
so that a loaded CI runner does not fail the test (the point is: no restart needed)."""


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    home = tmp_path / "home"
    for name in ("DATAOS_DATABASE_URL", "DATAOS_EXECUTORS", "DATAOS_POLICIES_ROOT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATAOS_HOME", str(home))
    monkeypatch.setenv("DATAOS_MINERVA_LAKEHOUSE_CHECK_SECONDS", "0")
    return make_world(home)


def derived(world: World) -> dict[str, DerivedTags]:
    with world.store() as store:
        return DerivedColumnTags(store).of("lake.shop.customers_copy")


def test_tags_are_recorded_before_the_write_and_replaced_by_the_next_run(world: World) -> None:
    world.copy("copy-bot", "etl-bot")
    assert world.run("copy-bot").success
    assert derived(world) == {
        "email": DerivedTags(("PII.Email",), ("landing.none.customers.email",))
    }
    with world.store() as store, store.reading() as session:
        recorded = session.scalar(select(ColumnTagRow.updated_at))
    assert recorded is not None
    snapshot = world.catalog().load_table(("shop", "customers_copy")).current_snapshot()
    assert snapshot is not None
    assert recorded.timestamp() * 1000 <= snapshot.timestamp_ms, "tags first, then data"
    with world.store() as store:
        assert Heimdall(store, world.home).column_tags()["lake.shop.customers_copy"] == {
            "email": ["PII.Email"]
        }

    world.copy("copy-bot", "etl-bot", sql="SELECT id, country AS email, country FROM customers")
    assert world.run("copy-bot").success
    assert derived(world) == {}, "the e-mail column no longer comes from a tagged column"


def test_untraceable_columns_take_every_tag_the_run_read(world: World) -> None:
    """DuckDB's ``COLUMNS(regex)`` copies ``email`` where sqlglot's lineage sees nothing:
    a column whose sources are unknown is tagged with everything the run read."""
    world.copy("copy-bot", "etl-bot", sql="SELECT id, COLUMNS('em.*') FROM customers")
    assert world.run("copy-bot").success
    assert derived(world) == {"email": DerivedTags(("PII.Email",), ("*",))}


def test_the_gateway_masks_a_copied_email_by_its_inherited_tag(world: World) -> None:
    world.apply(CLUSTER)
    world.copy("copy-bot", "etl-bot", sql="SELECT id, 'x' || id AS email FROM customers")
    assert world.run("copy-bot").success
    with world.store() as store:
        heimdall = Heimdall(store, world.home)
        gateway = Gateway(store, heimdall, world.home)
        try:
            request = QueryRequest(QUERY, cluster="minervalake")
            before = gateway.run(ALICE, request).rows
            assert [email for _, email in before] == [f"x{i}" for i, *_ in CUSTOMERS]
            engine = gateway.clusters.route(
                user_id="alice", user_tags=ALICE.tags, source=None, requested="minervalake"
            )

            world.copy("copy-bot", "etl-bot")
            assert world.run("copy-bot").success
            written = time.monotonic()
            expected = [(i, sha256(e)) for i, e, *_ in CUSTOMERS]
            while (rows := gateway.run(ALICE, request).rows) != expected:
                assert time.monotonic() - written < TAGS_VISIBLE_S, rows
                time.sleep(0.05)
            same = gateway.clusters.route(
                user_id="alice", user_tags=ALICE.tags, source=None, requested="minervalake"
            )
            assert same is engine, "tags changed, the cluster did not: no new engine"
            bot = Caller("etl-bot", ("roles:id:raw-reader", "users:id:etl-bot"))
            assert gateway.run(bot, request).rows == [(i, e) for i, e, *_ in CUSTOMERS]
        finally:
            gateway.close()
            heimdall.close()
