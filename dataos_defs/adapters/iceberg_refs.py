"""Branches and tags of an Iceberg table's snapshots, as DataOS' ``list-branch``,
``create-branch``, ``delete-branch``, ``rename-branch`` and ``fastforward-branch`` (and our
``create-tag``/``delete-tag``) use them, through pyiceberg's ``manage_snapshots``.

``main`` is the table's current state: it is never created, deleted, renamed or moved
here (``set-snapshot``/``rollback`` move it). Readers of the dataset (the Gateway, runs)
read ``main`` only; a branch or tag keeps its snapshots from expiring and nothing more.
"""

from __future__ import annotations

import re
from typing import Any

from pyiceberg.table import Table
from pyiceberg.table.refs import SnapshotRefType
from pyiceberg.table.snapshots import is_ancestor_of

from dataos_defs.adapters.iceberg_ops import DatasetOpError, commit_change

MAIN = "main"
MAX_REFS = 1000
_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_LIST_HINT = "list them with 'dataos-ctl dataset list-branch -a <udl>'"


def refs(table: Table) -> list[dict[str, Any]]:
    """Every branch and tag: name, kind, snapshot (``main`` first, then by name)."""
    found = [
        {"name": name, "type": str(ref.snapshot_ref_type), "snapshot_id": ref.snapshot_id}
        for name, ref in table.metadata.refs.items()
    ]
    return sorted(found, key=lambda r: (r["name"] != MAIN, r["name"]))[:MAX_REFS]


def check_name(name: str) -> str:
    if not _REF.match(name):
        raise DatasetOpError(
            f"'{name[:128]}' is not a branch or tag name",
            "letters, digits, '_', '.' and '-', at most 128 characters",
        )
    if name == MAIN:
        raise DatasetOpError(
            "'main' is the dataset itself",
            "move it with 'set-snapshot' or 'rollback'; choose another branch name",
        )
    return name


def create(table: Table, name: str, snapshot_id: int | None, kind: str) -> int:
    """A new branch or tag (``kind``) at ``snapshot_id`` (default: the current one)."""
    check_name(name)
    if name in table.metadata.refs:
        raise DatasetOpError(f"'{name}' exists", _LIST_HINT, 409)
    chosen = _snapshot(table, snapshot_id)
    manage = table.manage_snapshots()
    if kind == SnapshotRefType.TAG:
        commit_change(lambda: manage.create_tag(chosen, name).commit())
    else:
        commit_change(lambda: manage.create_branch(chosen, name).commit())
    return chosen


def delete(table: Table, name: str, kind: str) -> int:
    """Remove a branch or tag; returns the snapshot it pointed to."""
    ref = _ref(table, name, kind)
    manage = table.manage_snapshots()
    if kind == SnapshotRefType.TAG:
        commit_change(lambda: manage.remove_tag(name).commit())
    else:
        commit_change(lambda: manage.remove_branch(name).commit())
    return ref


def rename(table: Table, name: str, new_name: str) -> int:
    """Rename a branch in one commit (the new name at its snapshot, the old one removed)."""
    snapshot = _ref(table, name, SnapshotRefType.BRANCH)
    check_name(new_name)
    if new_name in table.metadata.refs:
        raise DatasetOpError(f"'{new_name}' exists", _LIST_HINT, 409)
    manage = table.manage_snapshots()
    commit_change(lambda: manage.create_branch(snapshot, new_name).remove_branch(name).commit())
    return snapshot


def fast_forward(table: Table, source: str, target: str) -> int:
    """Move branch ``source`` to the head of ``target`` when that only adds snapshots
    (its head is an ancestor of ``target``'s); returns the new head."""
    head = _ref(table, source, SnapshotRefType.BRANCH)
    if target not in table.metadata.refs:
        raise DatasetOpError(f"the dataset has no branch '{target}'", _LIST_HINT, 404)
    to = table.metadata.refs[target].snapshot_id
    if head == to:
        raise DatasetOpError(f"'{source}' is already at {to}", "nothing to change")
    if not is_ancestor_of(to, head, table.metadata):
        raise DatasetOpError(
            f"'{source}' cannot be fast-forwarded to '{target}': it has snapshots '{target}' "
            "does not",
            "fast-forward moves a branch only along its own history",
        )
    manage = table.manage_snapshots()
    commit_change(lambda: manage.create_branch(to, source).commit())
    return to


def _ref(table: Table, name: str, kind: str) -> int:
    check_name(name)
    ref = table.metadata.refs.get(name)
    if ref is None or ref.snapshot_ref_type != kind:
        raise DatasetOpError(f"the dataset has no {kind} '{name}'", _LIST_HINT, 404)
    return ref.snapshot_id


def _snapshot(table: Table, snapshot_id: int | None) -> int:
    if snapshot_id is None:
        current = table.current_snapshot()
        if current is None:
            raise DatasetOpError("the dataset has no snapshot yet", "give --sid after a write")
        return current.snapshot_id
    if table.snapshot_by_id(snapshot_id) is None:
        raise DatasetOpError(
            f"the dataset has no snapshot {snapshot_id}",
            "list them with 'dataos-ctl dataset snapshots -a <udl>'",
            404,
        )
    return snapshot_id
