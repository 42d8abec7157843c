"""The store on SQLite and on a real PostgreSQL: revisions, deletes, workspaces, atomicity."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from poros_helpers import counts, item, secret_item
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from dataos_defs.poros.errors import (
    DependentsExist,
    InvalidRequest,
    PorosError,
    ProtectedWorkspace,
    ResourceNotFound,
    WorkspaceExists,
    WorkspaceNotEmpty,
    WorkspaceNotFound,
    WriterConflict,
)
from dataos_defs.poros.records import ApplyItem, ResourceKey
from dataos_defs.poros.settings import Settings
from dataos_defs.poros.store import Store
from dataos_defs.poros.tables import Base, ResourceRow

DEPOT = ResourceKey("depot", "shop")


def test_migrations_create_exactly_the_tables(store: Store) -> None:
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_open_twice_is_idempotent(settings: Settings) -> None:
    for _ in range(2):
        with Store.open(settings=settings) as store:
            assert [w.name for w in store.list_workspaces()] == ["public"]


def test_concurrent_first_opens_migrate_once(settings: Settings) -> None:
    opened: list[Store] = []
    errors: list[BaseException] = []

    def open_store() -> None:
        try:
            opened.append(Store.open(settings=settings))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert [w.name for w in opened[0].list_workspaces()] == ["public"]
    for store in opened:
        store.close()


def test_apply_creates_then_leaves_unchanged_then_updates(store: Store) -> None:
    first = store.apply([item("depot", "shop")], "alice")
    assert [(r.action, r.revision) for r in first] == [("created", 1)]
    again = store.apply([item("depot", "shop")], "bob")
    assert [(r.action, r.revision) for r in again] == [("unchanged", 1)]
    changed = store.apply([item("depot", "shop", body={"x": 2})], "bob")
    assert [(r.action, r.revision) for r in changed] == [("updated", 2)]

    got = store.get("depot", "shop")
    assert got is not None
    # the identity that last changed a Resource owns it (its runs act as that identity)
    assert (got.revision, got.status, got.owner, got.workspace) == (2, "active", "bob", None)
    assert got.manifest["depot"] == {"x": 2}
    history = store.history("depot", "shop")
    assert [(h.revision, h.action, h.applied_by) for h in history] == [
        (1, "created", "alice"),
        (2, "updated", "bob"),
    ]
    assert history[0].manifest["depot"] == {"x": 1}
    assert history[0].digest != history[1].digest
    assert history[1].source_file == "shop.yaml"


def test_list_filters(store: Store) -> None:
    store.create_workspace("sales", actor="alice")
    store.apply(
        [
            item("depot", "shop"),
            item("workflow", "copy", "public", status="pending"),
            item("workflow", "copy", "sales", status="pending"),
            item("secret", "creds", "sales"),
        ],
        "alice",
    )
    keys = [r.key for r in store.list()]
    assert keys == sorted(keys, key=lambda k: (k.kind, k.workspace or "", k.name))
    assert len(keys) == 4
    assert {r.workspace for r in store.list(kind="workflow")} == {"public", "sales"}
    assert [r.kind for r in store.list(workspace="sales")] == ["secret", "workflow"]
    assert [r.key for r in store.list(name="shop")] == [DEPOT]
    assert store.list(kind="workflow", workspace="public")[0].status == "pending"
    store.delete("secret", "creds", "sales", "alice")
    assert len(store.list()) == 3
    assert len(store.list(include_deleted=True)) == 4


def test_workspace_isolation_of_names(store: Store) -> None:
    store.create_workspace("sales", actor="alice")
    store.apply([item("workflow", "copy", "public")], "alice")
    store.apply([item("workflow", "copy", "sales", body={"other": True})], "alice")
    public = store.get("workflow", "copy", "public")
    sales = store.get("workflow", "copy", "sales")
    assert public is not None and sales is not None
    assert public.manifest != sales.manifest
    store.delete("workflow", "copy", "sales", "alice")
    assert store.get("workflow", "copy", "sales") is None
    assert store.get("workflow", "copy", "public") is not None


def test_instance_level_names_are_unique(store: Store) -> None:
    """NULL workspaces must not defeat the unique key (they would with a plain index)."""
    store.apply([item("depot", "shop")], "alice")
    with pytest.raises(IntegrityError), store.writing() as session:
        row = {
            "kind": "depot",
            "name": "shop",
            "workspace": None,
            "workspace_key": "",
            "version": "v1",
            "status": "active",
            "current_revision": 1,
            "digest": "x",
            "created_at": store.get("depot", "shop").created_at,  # type: ignore[union-attr]
            "updated_at": store.get("depot", "shop").created_at,  # type: ignore[union-attr]
        }
        session.execute(insert(ResourceRow), [row])


def test_delete_refuses_with_dependents_unless_forced(store: Store) -> None:
    wf = item("workflow", "copy", "public", references=[DEPOT], datasets=["dataos://shop:a/b"])
    store.apply([item("depot", "shop"), wf], "alice")
    with pytest.raises(DependentsExist) as refused:
        store.delete("depot", "shop", None, "bob")
    assert refused.value.dependents == [ResourceKey("workflow", "copy", "public")]
    assert "--force" in str(refused.value)
    assert store.get("depot", "shop") is not None

    deleted = store.delete("depot", "shop", None, "bob", force=True)
    assert (deleted.action, deleted.revision, deleted.applied_by) == ("deleted", 2, "bob")
    assert store.get("depot", "shop") is None
    gone = store.get("depot", "shop", include_deleted=True)
    assert gone is not None and gone.status == "deleted" and gone.deleted_at is not None
    with pytest.raises(ResourceNotFound):
        store.delete("depot", "shop", None, "bob")


def test_delete_drops_references_and_writers(store: Store) -> None:
    wf = item("workflow", "copy", "public", references=[DEPOT], datasets=["dataos://shop:a/b"])
    store.apply([item("depot", "shop"), wf], "alice")
    assert store.dataset_writers(["dataos://shop:a/b"]) == {"dataos://shop:a/b": wf.key}
    store.delete("workflow", "copy", "public", "alice")
    assert store.dependents("depot", "shop") == []
    assert store.dataset_writers(["dataos://shop:a/b"]) == {}
    store.delete("depot", "shop", None, "alice")


def test_reapply_after_delete_starts_a_new_life(store: Store) -> None:
    store.apply([item("depot", "shop")], "alice")
    store.delete("depot", "shop", None, "alice")
    again = store.apply([item("depot", "shop")], "carol")
    assert [(r.action, r.revision) for r in again] == [("created", 3)]
    got = store.get("depot", "shop")
    assert got is not None and got.status == "active" and got.deleted_at is None
    assert got.owner == "carol"
    actions = [h.action for h in store.history("depot", "shop")]
    assert actions == ["created", "deleted", "created"]


def test_history_keeps_every_revision(store: Store) -> None:
    for n in range(5):
        store.apply([item("depot", "shop", body={"n": n})], "alice")
    assert [h.manifest["depot"]["n"] for h in store.history("depot", "shop")] == list(range(5))
    assert store.history("depot", "nothing") == []


def test_set_status(store: Store) -> None:
    store.apply([item("workflow", "copy", "public", status="pending")], "alice")
    store.set_status("workflow", "copy", "public", "error", "image pull failed")
    got = store.get("workflow", "copy", "public")
    assert got is not None and (got.status, got.status_reason) == ("error", "image pull failed")
    assert got.revision == 1
    with pytest.raises(InvalidRequest):
        store.set_status("workflow", "copy", "public", "deleted")  # type: ignore[arg-type]
    with pytest.raises(ResourceNotFound):
        store.set_status("workflow", "nope", "public", "active")


def test_a_failing_apply_changes_nothing(store: Store) -> None:
    store.apply([item("workflow", "one", "public", datasets=["dataos://shop:a/b"])], "alice")
    before = counts(store)
    batch = [
        item("depot", "shop"),
        item("workflow", "two", "public", datasets=["dataos://shop:a/b"]),
    ]
    with pytest.raises(WriterConflict):
        store.apply(batch, "alice")
    assert counts(store) == before
    assert store.get("depot", "shop") is None
    assert store.dataset_writers(["dataos://shop:a/b"]) == {
        "dataos://shop:a/b": ResourceKey("workflow", "one", "public")
    }


def test_a_changed_writer_can_hand_its_dataset_over(store: Store) -> None:
    store.apply([item("workflow", "one", "public", datasets=["dataos://shop:a/b"])], "alice")
    batch = [
        item("workflow", "one", "public", body={"changed": True}),
        item("workflow", "two", "public", datasets=["dataos://shop:a/b"]),
    ]
    store.apply(batch, "alice")
    assert store.dataset_writers(["dataos://shop:a/b"]) == {
        "dataos://shop:a/b": ResourceKey("workflow", "two", "public")
    }


def test_duplicate_items_are_refused(store: Store) -> None:
    with pytest.raises(InvalidRequest):
        store.apply([item("depot", "shop"), item("depot", "shop")], "alice")


def test_dry_run_writes_nothing(store: Store) -> None:
    results = store.apply([item("depot", "shop")], "alice", dry_run=True)
    assert [(r.action, r.revision) for r in results] == [("created", 1)]
    assert counts(store) == (0, 0)


def test_workspaces(store: Store) -> None:
    created = store.create_workspace("sales", "the sales team", ["team:sales"], "alice")
    assert (created.name, created.tags, created.created_by) == ("sales", ["team:sales"], "alice")
    assert [w.name for w in store.list_workspaces()] == ["public", "sales"]
    assert store.get_workspace("sales") == created
    with pytest.raises(WorkspaceExists):
        store.create_workspace("sales")
    with pytest.raises(InvalidRequest):
        store.create_workspace("Not_Valid")
    with pytest.raises(ProtectedWorkspace):
        store.delete_workspace("public", "alice", force=True)
    with pytest.raises(WorkspaceNotFound):
        store.delete_workspace("nowhere", "alice")
    assert store.delete_workspace("sales", "alice") == []
    assert store.get_workspace("sales") is None
    assert store.create_workspace("sales", actor="bob").created_by == "bob"


def test_apply_into_a_missing_workspace_is_refused(store: Store) -> None:
    with pytest.raises(WorkspaceNotFound) as refused:
        store.apply([item("workflow", "copy", "sales")], "alice")
    assert "workspace create" in str(refused.value)
    assert counts(store) == (0, 0)


def test_delete_workspace_refuses_while_it_holds_resources(store: Store) -> None:
    store.create_workspace("sales", actor="alice")
    store.apply([item("workflow", "copy", "sales"), item("secret", "creds", "sales")], "alice")
    with pytest.raises(WorkspaceNotEmpty) as refused:
        store.delete_workspace("sales", "alice")
    assert len(refused.value.resources) == 2
    removed = store.delete_workspace("sales", "alice", force=True)
    assert sorted(r.name for r in removed) == ["copy", "creds"]
    assert store.list(workspace="sales") == []
    assert [h.action for h in store.history("secret", "creds", "sales")] == ["created", "deleted"]
    with pytest.raises(WorkspaceNotFound):
        store.apply([item("workflow", "copy", "sales")], "alice")


def test_two_applies_in_threads_do_not_corrupt(store: Store) -> None:
    errors: list[BaseException] = []

    def run(tag: int) -> None:
        try:
            for n in range(10):
                batch = [item("depot", f"d{i}", body={"by": tag, "n": n}) for i in range(20)]
                store.apply(batch, f"user{tag}")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(t,)) for t in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    for resource in store.list():
        revisions = [h.revision for h in store.history(resource.kind, resource.name)]
        assert revisions == list(range(1, len(revisions) + 1))
        assert resource.revision == revisions[-1]
        assert store.history(resource.kind, resource.name)[-1].manifest == resource.manifest


def test_secrets_are_redacted_and_restored(store: Store) -> None:
    store.apply([secret_item("pg-r")], "alice")
    redacted = store.get("instance-secret", "pg-r")
    assert redacted is not None
    assert redacted.manifest["instance-secret"]["data"]["password"] == "<redacted>"
    assert all("hunter2" not in str(h.manifest) for h in store.history("instance-secret", "pg-r"))
    shown = store.get("instance-secret", "pg-r", unsanitize=True)
    assert shown is not None
    assert shown.manifest["instance-secret"]["data"]["password"] == "hunter2-very-secret"


def test_a_changed_secret_value_is_an_update(store: Store) -> None:
    store.apply([secret_item("pg-r")], "alice")
    results = store.apply([secret_item("pg-r", password="another")], "alice")
    assert results[0].action == "updated"
    shown = store.get("instance-secret", "pg-r", unsanitize=True)
    assert shown is not None and shown.manifest["instance-secret"]["data"]["password"] == "another"


def test_many_items_in_one_apply(store: Store) -> None:
    """More items than one IN list holds (chunked lookups)."""
    batch: list[ApplyItem] = [item("depot", f"d{i}") for i in range(1200)]
    assert {r.action for r in store.apply(batch, "alice")} == {"created"}
    assert {r.action for r in store.apply(batch, "alice")} == {"unchanged"}
    assert len(store.live_keys(i.key for i in batch)) == 1200


def test_manifests_keep_their_key_order(store: Store) -> None:
    body = {"zeta": 1, "alpha": {"y": 2, "b": 3}, "mid": "ünïcode"}
    store.apply([item("depot", "shop", body=body)], "alice")
    got = store.get("depot", "shop")
    assert got is not None
    assert list(got.manifest) == ["name", "version", "type", "depot"]
    assert list(got.manifest["depot"]) == ["zeta", "alpha", "mid"]
    assert list(got.manifest["depot"]["alpha"]) == ["y", "b"]
    assert got.manifest["depot"]["mid"] == "ünïcode"


def test_an_in_memory_store_works(tmp_path: Path) -> None:
    with Store.open("sqlite://", settings=Settings(tmp_path, "sqlite://")) as store:
        store.apply([item("depot", "shop")], "alice")
        assert [r.name for r in store.list()] == ["shop"]


def test_an_unsupported_url_is_explained(tmp_path: Path) -> None:
    with pytest.raises(PorosError) as refused:
        Store.open("mysql://db/x", settings=Settings(tmp_path, "mysql://db/x"))
    assert "postgresql://" in str(refused.value)
