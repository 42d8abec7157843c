"""Reconciliation without a running Dagster: skipped, or pending with the reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from dagster_support import apply_example

from dataos_defs.api.reconcile import DAGSTER_URL_ENV, reconcile
from dataos_defs.poros.settings import Settings
from dataos_defs.poros.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    apply_example(tmp_path)
    return Store.open(settings=Settings.from_env({"DATAOS_HOME": str(tmp_path)}))


def test_without_a_dagster_url_nothing_happens(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(DAGSTER_URL_ENV, raising=False)
    with store:
        assert reconcile(store) is None
        workflow = store.get("workflow", "shop-daily", "public")
    assert workflow is not None
    assert (workflow.status, workflow.status_reason) == ("pending", None)


def test_an_unreachable_webserver_leaves_workflows_pending_with_the_reason(store: Store) -> None:
    with store:
        outcome = reconcile(store, "http://127.0.0.1:9")
        workflow = store.get("workflow", "shop-daily", "public")
    assert outcome is not None
    assert workflow is not None and workflow.status == "pending"
    assert workflow.status_reason is not None
    assert "Dagster webserver unreachable" in workflow.status_reason
