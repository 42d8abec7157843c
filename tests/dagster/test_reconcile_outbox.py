"""Reconciliation drains the run outbox and reloads the code location only when what it
compiles from changed, counted against the GraphQL stand-in over HTTP."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from graphql_stand_in import DagsterStandIn, compiled_from, serve
from lifecycle_manifests import ONCE

from dataos_defs.api.reconcile import COMPILED_KINDS, reconcile
from dataos_defs.location import definitions
from dataos_defs.manifest.loader import parse_yaml
from dataos_defs.manifest.validate import parse_documents
from dataos_defs.poros.apply import apply_resources
from dataos_defs.poros.records import ResourceKey
from dataos_defs.poros.settings import Settings
from dataos_defs.poros.store import Store

ONCE_KEY = ResourceKey("workflow", "once", "public")
SECRET = """\
name: token
version: v1
type: instance-secret
instance-secret:
  type: key-value
  acl: r
  data:
    token: {value}
"""


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(settings=Settings.from_env({"DATAOS_HOME": str(tmp_path)})) as opened:
        yield opened


@pytest.fixture
def dagster(store: Store) -> Iterator[tuple[DagsterStandIn, str]]:
    stand_in = DagsterStandIn(compiled_from(store))
    with serve(stand_in) as url:
        yield stand_in, url


def apply(store: Store, text: str) -> None:
    documents, problems = parse_yaml(text, "m.yaml")
    assert not problems
    apply_resources(store, parse_documents(documents), None, "tester")


def reloads(stand_in: DagsterStandIn) -> int:
    return stand_in.calls.count("Reload")


def test_the_fingerprinted_kinds_are_those_the_code_location_compiles() -> None:
    assert set(COMPILED_KINDS) == set(definitions.COMPILED_KINDS)


def test_a_change_the_compiler_does_not_read_reloads_nothing(
    store: Store, dagster: tuple[DagsterStandIn, str]
) -> None:
    stand_in, url = dagster
    apply(store, ONCE.format(description="first"))
    first = reconcile(store, url)
    assert first is not None and first.reloaded and reloads(stand_in) == 1

    apply(store, SECRET.format(value="a"))
    calls = len(stand_in.calls)
    secret = ResourceKey("instance-secret", "token", None)
    skipped = reconcile(store, url, changed=[secret])
    assert skipped is not None and not skipped.reloaded
    assert skipped.statuses == {ONCE_KEY: ("active", None)}
    assert len(stand_in.calls) == calls, "a secret made reconciliation ask Dagster"
    store.delete("instance-secret", "token", None, "tester")
    assert reconcile(store, url, changed=[secret]) is not None
    assert len(stand_in.calls) == calls
    converged = reconcile(store, url)
    assert converged is not None and not converged.reloaded
    assert len(stand_in.calls) > calls, "a reconcile of no change must converge schedules"

    forced = reconcile(store, url, force_reload=True)
    assert forced is not None and forced.reloaded and reloads(stand_in) == 2
    apply(store, ONCE.format(description="second"))
    assert reconcile(store, url) is not None and reloads(stand_in) == 3
    store.delete("workflow", "once", "public", "tester")
    assert reconcile(store, url) is not None and reloads(stand_in) == 4
    assert stand_in.loaded == []


def test_consecutive_changes_are_covered_by_one_reload(
    store: Store, dagster: tuple[DagsterStandIn, str]
) -> None:
    stand_in, url = dagster
    for n in range(3):
        apply(store, ONCE.format(description=f"change {n}").replace("once", f"once{n}"))
    threads = [threading.Thread(target=reconcile, args=(store, url)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert reloads(stand_in) == 1
    assert sorted(r.job for r in stand_in.launched()) == [
        "public__once0",
        "public__once1",
        "public__once2",
    ]


def test_a_failed_launch_stays_in_the_outbox_and_the_next_reconciliation_retries(
    store: Store, dagster: tuple[DagsterStandIn, str]
) -> None:
    stand_in, url = dagster
    apply(store, ONCE.format(description="first"))
    stand_in.launch_error = "run launcher refused"
    failed = reconcile(store, url)
    assert failed is not None and ONCE_KEY in failed.failed
    (entry,) = store.outbox()
    assert entry.attempts == 1 and entry.last_error is not None
    assert "run launcher refused" in entry.last_error

    stand_in.launch_error = None
    again = reconcile(store, url)
    assert again is not None and not again.reloaded, "the location had loaded: no reload"
    assert [r.job for r in stand_in.launched()] == ["public__once"]
    assert store.outbox() == []
    found = store.get("workflow", "once", "public")
    assert found is not None and (found.status, found.status_reason) == ("active", None)


def test_runs_wait_while_dagster_cannot_be_reached(
    store: Store, dagster: tuple[DagsterStandIn, str]
) -> None:
    stand_in, url = dagster
    apply(store, ONCE.format(description="first"))
    down = reconcile(store, "http://127.0.0.1:9")
    assert down is not None and down.statuses[ONCE_KEY][0] == "pending"
    (entry,) = store.outbox()
    assert entry.attempts == 1 and "reloading the Dagster code location failed" in str(
        entry.last_error
    )
    assert reconcile(store, url) is not None
    assert [r.job for r in stand_in.launched()] == ["public__once"]
    assert store.outbox() == []
