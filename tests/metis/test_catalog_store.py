"""The catalog in the store, on SQLite and on a real PostgreSQL: its own migrations,
versions, merges, soft and hard delete, and source passwords sealed at rest."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select, text

from dataos_defs.metis.catalog import Catalog, Raced, VersionMismatch
from dataos_defs.metis.requests import (
    CreateDatabase,
    CreateDatabaseSchema,
    CreateService,
    CreateTable,
)
from dataos_defs.metis.schema import VERSION_TABLE, entities, entity_versions, metadata
from dataos_defs.poros.settings import Settings
from dataos_defs.poros.store import Store

PASSWORD = "pw-that-must-never-show"
FULL_TEXT = "metis_search_fts"
"""The full-text table (and FTS5's shadow tables) depend on the database: not in ``metadata``."""


@pytest.fixture
def store(tmp_path: Path, store_url: str) -> Iterator[Store]:
    opened = Store.open(settings=Settings(home=tmp_path / "home", database_url=store_url))
    yield opened
    opened.close()


@pytest.fixture
def catalog(store: Store) -> Catalog:
    return Catalog.open(store)


def service(password: str = PASSWORD) -> CreateService:
    connection = {
        "config": {"type": "Postgres", "username": "u", "authType": {"password": password}}
    }
    return CreateService(name="shoppg", serviceType="Postgres", connection=connection)


def table(name: str = "orders", **extra: Any) -> CreateTable:
    columns = extra.pop("columns", [{"name": "id", "dataType": "INT"}])
    return CreateTable.model_validate(
        {"name": name, "databaseSchema": "shoppg.shop.public", "columns": columns, **extra}
    )


def seeded(catalog: Catalog) -> None:
    catalog.put("databaseService", service(), "op", expect_new=True)
    catalog.put("database", CreateDatabase(name="shop", service="shoppg"), "op", expect_new=True)
    schema = CreateDatabaseSchema(name="public", database="shoppg.shop")
    catalog.put("databaseSchema", schema, "op", expect_new=True)


def test_migrations_create_exactly_the_tables_beside_poros(store: Store, catalog: Catalog) -> None:
    with store.engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "version_table": VERSION_TABLE,
                "include_name": lambda name, kind, _p: (
                    kind != "table"
                    or (name.startswith("metis_") and not name.startswith(FULL_TEXT))
                ),
            },
        )
        assert compare_metadata(context, metadata) == []
        poros_head = conn.execute(text("select version_num from alembic_version")).scalar()
        metis_head = conn.execute(text(f"select version_num from {VERSION_TABLE}")).scalar()
    assert metis_head == "m0004"
    assert poros_head is not None and not poros_head.startswith("m")
    assert {"resources", "revisions"} <= set(inspect(store.engine).get_table_names())


def test_opening_again_and_concurrently_migrates_once(store: Store) -> None:
    errors: list[BaseException] = []

    def open_catalog() -> None:
        try:
            Catalog.open(store)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_catalog) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_versions_move_by_a_tenth_and_an_identical_put_changes_nothing(catalog: Catalog) -> None:
    seeded(catalog)
    first, action = catalog.put("table", table(), "op", expect_new=True)
    assert (action, first.version, first.body["version"]) == ("created", 0.1, 0.1)
    again, action = catalog.put("table", table(), "scanner", expect_new=False)
    assert action == "unchanged" and again.version_tenths == 1
    described, action = catalog.put(
        "table", table(description="Orders"), "scanner", expect_new=None
    )
    assert action == "updated" and described.body["version"] == 0.2
    assert described.body["updatedBy"] == "scanner"
    (previous,) = catalog.versions(first.id)
    assert previous.version == 0.1 and "description" not in previous.body


def test_a_rerun_keeps_tags_users_set_on_columns(catalog: Catalog) -> None:
    seeded(catalog)
    stored, _ = catalog.put("table", table(), "op", expect_new=True)
    tagged = json.loads(json.dumps(stored.body))
    tagged["columns"][0]["tags"] = [
        {
            "tagFQN": "PII.Email",
            "source": "Classification",
            "labelType": "Manual",
            "state": "Confirmed",
        }
    ]
    catalog.replace(stored, tagged, "alice", expected_tenths=stored.version_tenths)
    rerun, action = catalog.put("table", table(), "scanner", expect_new=False)
    assert action == "unchanged"
    assert [t["tagFQN"] for t in rerun.body["columns"][0]["tags"]] == ["PII.Email"]


def test_if_match_on_a_moved_entity_is_refused(catalog: Catalog) -> None:
    seeded(catalog)
    stored, _ = catalog.put("table", table(), "op", expect_new=True)
    catalog.replace(stored, {**stored.body, "description": "a"}, "op", expected_tenths=1)
    with pytest.raises(VersionMismatch) as caught:
        catalog.replace(stored, {**stored.body, "description": "b"}, "op", expected_tenths=1)
    assert caught.value.current == 0.2


def test_authorized_for_create_but_it_exists_is_a_race(catalog: Catalog) -> None:
    seeded(catalog)
    catalog.put("table", table(), "op", expect_new=True)
    with pytest.raises(Raced):
        catalog.put("table", table(description="x"), "op", expect_new=True)


def test_soft_delete_keeps_a_version_and_a_put_restores(catalog: Catalog) -> None:
    seeded(catalog)
    stored, _ = catalog.put("table", table(), "op", expect_new=True)
    deleted = catalog.delete(stored, [], "op", hard=False)
    assert deleted.deleted and deleted.version == 0.2
    assert catalog.get("table", fqn=stored.fqn) is None
    assert catalog.get("table", fqn=stored.fqn, include_deleted=True) is not None
    restored, action = catalog.put("table", table(), "op", expect_new=False)
    assert action == "updated" and not restored.deleted and restored.version == 0.3


def test_hard_delete_of_a_service_erases_what_it_holds(catalog: Catalog, store: Store) -> None:
    seeded(catalog)
    catalog.put("table", table(), "op", expect_new=True)
    root = catalog.get("databaseService", fqn="shoppg")
    assert root is not None
    children = catalog.descendants(root)
    assert [c.entity_type for c in children] == ["table", "databaseSchema", "database"]
    catalog.delete(root, children, "op", hard=True)
    with store.engine.connect() as conn:
        assert conn.execute(select(entities.c.id)).all() == []
        assert conn.execute(select(entity_versions.c.entity_id)).all() == []


def test_source_passwords_are_sealed_at_rest(catalog: Catalog, store: Store) -> None:
    stored, _ = catalog.put("databaseService", service(), "op", expect_new=True)
    assert stored.body["connection"]["config"]["authType"]["password"] == "<redacted>"
    assert stored.secret_token and PASSWORD not in stored.secret_token
    assert catalog.secrets(stored) == [(("config", "authType", "password"), PASSWORD)]
    # Sent back masked (as a client that read it redacted would), the stored value stays.
    again, action = catalog.put("databaseService", service("<redacted>"), "op", expect_new=False)
    assert action == "unchanged" and catalog.secrets(again)[0][1] == PASSWORD
    changed, action = catalog.put("databaseService", service("new-pw"), "op", expect_new=False)
    assert action == "updated" and catalog.secrets(changed)[0][1] == "new-pw"
    with store.engine.connect() as conn:
        rows = [json.dumps(list(row)) for row in conn.execute(select(entities)).all()]
        rows += [json.dumps(list(row)) for row in conn.execute(select(entity_versions)).all()]
    assert not any(PASSWORD in row or "new-pw" in row for row in rows)


def test_a_masked_password_is_not_kept_for_a_connection_pointed_elsewhere(catalog: Catalog) -> None:
    catalog.put("databaseService", service(), "op", expect_new=True)
    moved = service("<redacted>")
    assert moved.connection is not None
    moved.connection["config"]["hostPort"] = "attacker.example:5432"
    stored, action = catalog.put("databaseService", moved, "mallory", expect_new=False)
    assert action == "updated"
    assert catalog.secrets(stored) == []
    assert stored.body["connection"]["config"]["authType"]["password"] == "<redacted>"
