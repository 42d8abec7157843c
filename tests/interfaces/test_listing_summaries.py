"""``Store.list_summaries``, what listings read: the Resources ``Store.list`` returns, in its
order and with the same fields, with manifests only for the kinds asked for."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from dataos_defs.poros.records import StoredResource
from dataos_defs.poros.settings import Settings
from dataos_defs.poros.store import Store
from tests.poros.poros_helpers import item


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(settings=Settings.from_env({"DATAOS_HOME": str(tmp_path)})) as opened:
        opened.create_workspace("team-a")
        opened.apply(
            [
                item("depot", "pg"),
                item("instance-secret", "creds"),
                item("workflow", "copy", "public"),
                item("workflow", "copy", "team-a"),
                item("secret", "token", "team-a"),
                item("workflow", "gone", "team-a"),
            ],
            "ops",
        )
        opened.delete("workflow", "gone", "team-a", "ops")
        opened.set_status("workflow", "copy", "team-a", "error", "broken")
        yield opened


def without_manifest(resource: StoredResource) -> StoredResource:
    return replace(resource, manifest={})


@pytest.mark.parametrize(
    ("kind", "workspace", "name"),
    [
        (None, None, None),
        ("workflow", None, None),
        (None, "team-a", None),
        ("workflow", "team-a", "copy"),
        (None, None, "copy"),
    ],
)
def test_summaries_are_the_listed_resources_without_manifests(
    store: Store, kind: str | None, workspace: str | None, name: str | None
) -> None:
    listed = store.list(kind, workspace, name)
    summaries = store.list_summaries(kind, workspace, name)
    assert listed, "the filters should match something"
    assert summaries == [without_manifest(r) for r in listed]


def test_manifests_are_read_for_the_kinds_asked_for(store: Store) -> None:
    listed = store.list()
    summaries = store.list_summaries(manifests_of=("workflow",))
    assert summaries == [r if r.kind == "workflow" else without_manifest(r) for r in listed]
    assert all(r.manifest for r in summaries if r.kind == "workflow")
    assert ("workflow", "gone") not in {(r.kind, r.name) for r in summaries}
    assert {r.status_reason for r in summaries} >= {"broken"}
