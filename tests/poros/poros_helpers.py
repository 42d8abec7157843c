"""Builders for Poros tests: store items and manifests parsed as users write them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from dataos_defs.manifest.loader import parse_yaml
from dataos_defs.manifest.validate import ParsedResource, parse_documents
from dataos_defs.poros.records import ApplyItem, ResourceKey, Status
from dataos_defs.poros.store import Store
from dataos_defs.poros.tables import ResourceRow, RevisionRow
from tests.manifest_texts import PASSWORD


def item(
    kind: str,
    name: str,
    workspace: str | None = None,
    *,
    body: dict[str, Any] | None = None,
    references: list[ResourceKey] | None = None,
    datasets: list[str] | None = None,
    status: Status = "active",
) -> ApplyItem:
    """A manifest of ``kind``; ``body`` is its type section."""
    manifest = {"name": name, "version": "v1", "type": kind, kind: body or {"x": 1}}
    return ApplyItem(
        key=ResourceKey(kind, name, workspace),
        version="v1",
        manifest=manifest,
        references=references or [],
        produced_datasets=datasets or [],
        initial_status=status,
        source_file=f"{name}.yaml",
    )


def secret_item(name: str, password: str = PASSWORD) -> ApplyItem:
    base = item("instance-secret", name, body={"acl": "r", "data": {"password": password}})
    return ApplyItem(
        key=base.key,
        version=base.version,
        manifest=base.manifest,
        secret_paths=[("instance-secret", "data", "password")],
        source_file=base.source_file,
    )


def parse(
    text: str, file: str = "manifests.yaml", workspace: str | None = None
) -> list[ParsedResource]:
    documents, issues = parse_yaml(text, file)
    assert not issues, issues
    return parse_documents(documents, workspace)


def counts(store: Store) -> tuple[int, int]:
    """How many resource rows and revision rows the store holds."""
    with store.reading() as session:
        resources = session.scalar(select(func.count()).select_from(ResourceRow)) or 0
        revisions = session.scalar(select(func.count()).select_from(RevisionRow)) or 0
    return resources, revisions


def documents(*texts: str) -> str:
    return "---\n".join(texts)
