"""Compaction of deleted Resources' history (an operator's command), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from poros_helpers import item, secret_item
from sqlalchemy import select

from dataos_defs.poros.compaction import compact_deleted
from dataos_defs.poros.records import ResourceKey
from dataos_defs.poros.store import Store
from dataos_defs.poros.tables import RevisionRow

BIG = {"rows": ["x" * 100] * 200}


def _later() -> datetime:
    return datetime.now(UTC) + timedelta(seconds=1)


def _ciphertexts(store: Store) -> list[str | None]:
    with store.reading() as session:
        return list(session.scalars(select(RevisionRow.secret_ciphertext)))


def test_compaction_keeps_the_audit_and_drops_the_payloads(store: Store) -> None:
    store.apply([item("depot", "old", body=BIG), secret_item("oldsec")], "alice")
    store.apply([item("depot", "old", body={**BIG, "more": 1})], "alice")
    store.delete_many(
        [ResourceKey("depot", "old"), ResourceKey("instance-secret", "oldsec")], "bob"
    )
    before = store.history("depot", "old")

    done = compact_deleted(store, deleted_before=_later(), actor="ops")

    assert set(done.resources) == {
        ResourceKey("depot", "old"),
        ResourceKey("instance-secret", "oldsec"),
    }
    assert done.revisions == 5 and not done.dry_run and not done.more
    assert done.bytes_freed > 2 * 200 * 100
    after = store.history("depot", "old")
    assert [(r.revision, r.action, r.applied_by, r.applied_at, r.digest) for r in after] == [
        (r.revision, r.action, r.applied_by, r.applied_at, r.digest) for r in before
    ]
    assert {str(r.manifest) for r in after} == {
        str({"name": "old", "version": "v1", "type": "depot"})
    }
    assert all(r.compacted_at is not None for r in after)
    assert _ciphertexts(store) == [None] * 5


def test_a_dry_run_changes_nothing(store: Store) -> None:
    store.apply([item("depot", "gone", body=BIG)], "alice")
    store.delete("depot", "gone", None, "bob")
    before = store.history("depot", "gone")

    done = compact_deleted(store, deleted_before=_later(), actor="ops", dry_run=True)

    assert (
        done.dry_run and done.resources == (ResourceKey("depot", "gone"),) and done.revisions == 2
    )
    assert store.history("depot", "gone") == before


def test_live_recent_and_recreated_resources_are_left_alone(store: Store) -> None:
    store.apply([item("depot", "live", body=BIG), item("depot", "back", body=BIG)], "alice")
    store.delete("depot", "back", None, "bob")
    store.apply([item("depot", "back", body=BIG)], "alice")
    store.apply([item("depot", "recent", body=BIG)], "alice")
    store.delete("depot", "recent", None, "bob")

    nothing = compact_deleted(
        store, deleted_before=datetime.now(UTC) - timedelta(days=1), actor="ops"
    )
    assert nothing.resources == () and nothing.revisions == 0
    done = compact_deleted(store, deleted_before=_later(), actor="ops")

    assert done.resources == (ResourceKey("depot", "recent"),)
    for name in ("live", "back"):
        assert all(r.compacted_at is None for r in store.history("depot", name))
        assert all("depot" in r.manifest for r in store.history("depot", name))


def test_a_second_compaction_finds_nothing_and_the_limit_says_there_is_more(store: Store) -> None:
    store.apply([item("depot", f"d{i}") for i in range(3)], "alice")
    store.delete_many([ResourceKey("depot", f"d{i}") for i in range(3)], "bob")

    first = compact_deleted(store, deleted_before=_later(), actor="ops", limit=2)
    second = compact_deleted(store, deleted_before=_later(), actor="ops", limit=2)
    third = compact_deleted(store, deleted_before=_later(), actor="ops", limit=2)

    assert (len(first.resources), first.more) == (2, True)
    assert (len(second.resources), second.more) == (1, False)
    assert third.revisions == 0 and third.resources == ()


def test_a_naive_cut_off_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="aware"):
        compact_deleted(store, deleted_before=datetime.now(), actor="ops")
