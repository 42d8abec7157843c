"""The apply service with real manifests (YAML → models → store) and with a probe model."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from poros_helpers import counts, documents, parse
from sqlalchemy import text

from dataos_defs.manifest.base import Reference, ResourceBase
from dataos_defs.manifest.errors import ManifestError
from dataos_defs.manifest.loader import parse_yaml
from dataos_defs.manifest.source import KeyPath
from dataos_defs.manifest.validate import ParsedResource
from dataos_defs.poros.apply import apply_resources
from dataos_defs.poros.errors import DependentsExist
from dataos_defs.poros.records import ApplyItem, ResourceKey
from dataos_defs.poros.store import Store
from tests.manifest_texts import PASSWORD, depot, secret, workflow

PRODUCT = documents(secret("pgr"), depot("shop", "pgr"), workflow("copy", "shop"))


def test_a_data_product_applies(store: Store) -> None:
    results = apply_resources(store, parse(PRODUCT), None, "alice")
    assert [(r.kind, r.name, r.workspace, r.action, r.revision) for r in results] == [
        ("instance-secret", "pgr", None, "created", 1),
        ("depot", "shop", None, "created", 1),
        ("workflow", "copy", "public", "created", 1),
    ]
    assert store.get("depot", "shop").status == "active"  # type: ignore[union-attr]
    assert store.get("workflow", "copy", "public").status == "pending"  # type: ignore[union-attr]
    stored = store.get("instance-secret", "pgr")
    assert stored is not None and PASSWORD not in str(stored.manifest)
    shown = store.get("instance-secret", "pgr", unsanitize=True)
    assert shown is not None and shown.manifest["instance-secret"]["data"]["password"] == PASSWORD

    again = apply_resources(store, parse(PRODUCT), None, "alice")
    assert {r.action for r in again} == {"unchanged"}


def test_references_are_recorded_for_deletes(store: Store) -> None:
    apply_resources(store, parse(PRODUCT), None, "alice")
    assert store.dependents("depot", "shop") == [ResourceKey("workflow", "copy", "public")]
    assert store.dependents("instance-secret", "pgr") == [ResourceKey("depot", "shop")]
    with pytest.raises(DependentsExist):
        store.delete("depot", "shop", None, "alice")


def test_a_missing_depot_fails_the_whole_set(store: Store) -> None:
    apply_resources(store, parse(documents(secret("pgr"), depot("shop", "pgr"))), None, "alice")
    before = counts(store)
    text = documents(secret("other"), workflow("copy", "shpo"))
    with pytest.raises(ManifestError) as failed:
        apply_resources(store, parse(text, "bad.yaml"), None, "alice")
    assert counts(store) == before
    assert store.get("instance-secret", "other") is None
    issues = failed.value.issues
    assert issues, "a missing depot must be reported"
    assert all("depot 'shpo' does not exist" in i.message for i in issues)
    assert all(i.hint and "did you mean 'shop'" in i.hint for i in issues)
    assert {i.file for i in issues} == {"bad.yaml"}
    lines = text.splitlines()
    assert all("shpo" in lines[i.line - 1] for i in issues)


def test_builtin_computes_and_stacks_exist(store: Store) -> None:
    """``flare:7.0`` and ``runnable-default`` resolve with nothing of theirs applied."""
    text = documents(secret("pgr"), depot("shop", "pgr"), workflow("a", "shop"))
    apply_resources(store, parse(text), None, "alice")
    with pytest.raises(ManifestError) as failed:
        apply_resources(store, parse(workflow("b", "shop", "t2", compute="gpu-big")), None, "al")
    assert [i.message for i in failed.value.issues] == ["compute 'gpu-big' does not exist"]


def test_one_writer_per_dataset_against_the_store(store: Store) -> None:
    apply_resources(store, parse(PRODUCT), None, "alice")
    with pytest.raises(ManifestError) as failed:
        apply_resources(store, parse(workflow("copy2", "shop")), None, "bob")
    [issue] = failed.value.issues
    assert "already written by workflow 'copy'" in issue.message
    assert apply_resources(store, parse(workflow("copy2", "shop", "items")), None, "bob")


def test_workspaces_are_checked(store: Store) -> None:
    apply_resources(store, parse(documents(secret("pgr"), depot("shop", "pgr"))), None, "alice")
    with pytest.raises(ManifestError) as missing:
        apply_resources(store, parse(workflow("copy", "shop"), workspace="sales"), "sales", "al")
    [issue] = missing.value.issues
    assert issue.message == "workspace 'sales' does not exist"
    assert issue.hint and "dataos-ctl workspace create" in issue.hint

    store.create_workspace("sales", actor="alice")
    written = "workspace: marketing\n" + workflow("copy", "shop")
    with pytest.raises(ManifestError) as clash:
        apply_resources(store, parse(written), "sales", "alice")
    assert "'marketing'" in clash.value.issues[0].message
    assert clash.value.issues[0].path == "workspace"
    results = apply_resources(
        store, parse(workflow("copy", "shop"), workspace="sales"), "sales", "a"
    )
    assert results[0].workspace == "sales"


def test_dry_run_writes_nothing(store: Store) -> None:
    results = apply_resources(store, parse(PRODUCT), None, "alice", dry_run=True)
    assert [r.action for r in results] == ["created"] * 3
    assert counts(store) == (0, 0)


def test_applying_100_manifests_stores_them_all(store: Store) -> None:
    """How fast is measured by ``make bench`` (``benchmarks/unit_hot_paths.py``), not here:
    a wall-clock limit flakes on a loaded runner."""
    texts = [secret("pgr"), depot("shop", "pgr")]
    texts += [workflow(f"copy{i}", "shop", f"t{i}") for i in range(98)]
    results = apply_resources(store, parse(documents(*texts)), None, "alice")
    assert [r.action for r in results] == ["created"] * 100
    assert counts(store) == (100, 100)


class Probe(ResourceBase):
    """A test-only Resource whose references and outputs are spelled out in the manifest."""

    KIND: ClassVar[str] = "workflow"
    type: str = "workflow"
    refs: list[dict[str, Any]] = []
    writes: list[str] = []

    def references(self) -> list[Reference]:
        return [
            Reference(r["kind"], r["name"], r.get("workspace"), ("refs", i, "name"))
            for i, r in enumerate(self.refs)
        ]

    def produced_datasets(self) -> list[tuple[str, KeyPath]]:
        return [(d, ("writes", i)) for i, d in enumerate(self.writes)]


def probes(text: str) -> list[ParsedResource]:
    docs, issues = parse_yaml(text, "probe.yaml")
    assert not issues
    return [ParsedResource(Probe.model_validate(d.data), d) for d in docs]


def probe(name: str, refs: str = "[]", writes: str = "[]", workspace: str = "") -> str:
    extra = f"workspace: {workspace}\n" if workspace else ""
    return f"name: {name}\nversion: v1\n{extra}refs: {refs}\nwrites: {writes}\n"


def test_a_secret_reference_without_workspace_means_the_own_workspace(store: Store) -> None:
    store.create_workspace("sales", actor="alice")
    refs = "[{kind: secret, name: creds}]"
    with pytest.raises(ManifestError) as failed:
        apply_resources(store, probes(probe("a", refs, workspace="sales")), None, "alice")
    assert failed.value.issues[0].message == "secret 'creds' in workspace 'sales' does not exist"
    assert failed.value.issues[0].path == "refs[0].name"
    assert failed.value.issues[0].line == 4
    store.apply(
        [ApplyItem(ResourceKey("secret", "creds", "sales"), "v1", {"name": "creds"})], "alice"
    )
    assert apply_resources(store, probes(probe("a", refs, workspace="sales")), None, "alice")
    with pytest.raises(ManifestError):
        apply_resources(store, probes(probe("b", refs)), None, "alice")


def test_stacks_resolve_by_bare_name_and_a_stack_resource_adds_one(store: Store) -> None:
    refs = "[{kind: stack, name: 'beacon+rest'}, {kind: stack, name: 'mine:1.0'}]"
    with pytest.raises(ManifestError) as failed:
        apply_resources(store, probes(probe("a", refs)), None, "alice")
    [issue] = failed.value.issues
    assert issue.message == "stack 'mine:1.0' does not exist"
    store.apply([ApplyItem(ResourceKey("stack", "mine"), "v1alpha", {"name": "mine"})], "a")
    apply_resources(store, probes(probe("a", refs)), None, "alice")
    assert store.dependents("stack", "mine") == [ResourceKey("workflow", "a", "public")]


def test_every_issue_is_reported_at_once(store: Store) -> None:
    text = "---\n".join(
        [
            probe("a", "[{kind: depot, name: nowhere}, {kind: compute, name: nope}]"),
            probe("b", "[{kind: depot, name: a}]"),
        ]
    )
    with pytest.raises(ManifestError) as failed:
        apply_resources(store, probes(text), None, "alice")
    assert len(failed.value.issues) == 3
    assert counts(store) == (0, 0)


def test_references_within_the_set_resolve(store: Store) -> None:
    text = "---\n".join(
        [probe("a", "[{kind: workflow, name: b}]"), probe("b", "[{kind: workflow, name: a}]")]
    )
    apply_resources(store, probes(text), None, "alice")
    assert store.dependents("workflow", "a", "public") == [ResourceKey("workflow", "b", "public")]


def test_a_writer_may_hand_over_its_dataset_in_the_same_run(store: Store) -> None:
    apply_resources(store, probes(probe("a", writes="['dataos://x:y/z']")), None, "alice")
    with pytest.raises(ManifestError):
        apply_resources(store, probes(probe("b", writes="['dataos://x:y/z']")), None, "alice")
    text = "---\n".join([probe("a"), probe("b", writes="['dataos://x:y/z']")])
    apply_resources(store, probes(text), None, "alice")
    assert store.dataset_writers(["dataos://x:y/z"]) == {
        "dataos://x:y/z": ResourceKey("workflow", "b", "public")
    }


V1_DEPOT = """\
name: oldpg
version: v1
type: depot
depot:
  type: JDBC
  external: true
  spec:
    subprotocol: postgresql
    host: localhost
    port: 5432
    database: shop
  connectionSecret:
    - acl: r
      type: key-value-properties
      data:
        username: reader
        password: inline-password-123
"""


def test_inline_depot_credentials_are_encrypted_at_rest(store: Store) -> None:
    apply_resources(store, parse(V1_DEPOT), None, "alice")
    with store.engine.connect() as conn:
        raw = repr(conn.execute(text("SELECT * FROM revisions")).all())
    assert "inline-password-123" not in raw
    stored = store.get("depot", "oldpg")
    assert stored is not None
    assert stored.manifest["depot"]["connectionSecret"][0]["data"]["password"] == "<redacted>"
    shown = store.get("depot", "oldpg", unsanitize=True)
    assert shown is not None
    assert shown.manifest["depot"]["connectionSecret"][0]["data"] == {
        "username": "reader",
        "password": "inline-password-123",
    }
