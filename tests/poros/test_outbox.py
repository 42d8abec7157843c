"""The run outbox: an apply records the workflows that must run once in its own transaction."""

from __future__ import annotations

from poros_helpers import item

from dataos_defs.poros.records import ResourceKey
from dataos_defs.poros.store import Store

ONCE = ResourceKey("workflow", "once", "public")
NIGHTLY = ResourceKey("workflow", "nightly", "public")
SCHEDULED = {"schedule": {"cron": "0 3 * * *"}, "dag": []}


def waiting(store: Store) -> list[tuple[ResourceKey, int, int]]:
    return [(e.key, e.revision, e.attempts) for e in store.outbox()]


def test_an_apply_records_the_workflows_without_a_schedule_it_created_or_changed(
    store: Store,
) -> None:
    store.apply(
        [
            item("workflow", "once", "public", body={"dag": []}),
            item("workflow", "nightly", "public", body=SCHEDULED),
            item("depot", "lake"),
        ],
        "tester",
    )
    assert waiting(store) == [(ONCE, 1, 0)]


def test_an_unchanged_reapply_records_nothing_and_a_dry_run_leaves_nothing(store: Store) -> None:
    store.apply([item("workflow", "once", "public", body={"dag": []})], "tester")
    assert store.outbox_done(ONCE, 1)
    store.apply([item("workflow", "once", "public", body={"dag": []})], "tester")
    assert waiting(store) == []
    store.apply([item("workflow", "once", "public", body={"dag": [1]})], "tester", dry_run=True)
    assert waiting(store) == []


def test_a_failure_keeps_the_entry_with_its_reason_and_a_change_resets_it(store: Store) -> None:
    store.apply([item("workflow", "once", "public", body={"dag": []})], "tester")
    store.outbox_failed(ONCE, 1, "launcher refused")
    store.outbox_failed(ONCE, 1, "launcher refused again")
    (entry,) = store.outbox()
    assert (entry.attempts, entry.last_error) == (2, "launcher refused again")

    store.apply([item("workflow", "once", "public", body={"dag": [1]})], "tester")
    assert waiting(store) == [(ONCE, 2, 0)]
    assert not store.outbox_done(ONCE, 1), "a launch of an older revision removed the newer"
    assert waiting(store) == [(ONCE, 2, 0)]
    assert store.outbox_done(ONCE, 2)
    assert waiting(store) == []


def test_gaining_a_schedule_or_being_deleted_forgets_the_run(store: Store) -> None:
    store.apply([item("workflow", "once", "public", body={"dag": []})], "tester")
    store.apply([item("workflow", "once", "public", body=SCHEDULED)], "tester")
    assert waiting(store) == []

    store.apply([item("workflow", "again", "public", body={"dag": []})], "tester")
    store.delete("workflow", "again", "public", "tester")
    assert waiting(store) == []
    store.apply([item("workflow", "again", "public", body={"dag": []})], "tester")
    assert waiting(store) == [(ResourceKey("workflow", "again", "public"), 3, 0)]


def test_a_claimed_run_is_not_launched_twice_until_it_fails_or_its_claim_lapses(
    store: Store,
) -> None:
    store.apply([item("workflow", "once", "public", body={"dag": []})], "tester")
    assert store.outbox_claim(ONCE, 1, 120)
    assert not store.outbox_claim(ONCE, 1, 120), "a second process took a claimed run"
    store.outbox_failed(ONCE, 1, "launcher refused")
    assert store.outbox_claim(ONCE, 1, -1), "a failed launch kept its claim"
    assert store.outbox_claim(ONCE, 1, 120), "a lapsed claim was kept"
    assert not store.outbox_claim(ONCE, 2, 120), "a claim of a revision never applied"
