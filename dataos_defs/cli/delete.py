"""``dataos-ctl delete``: final removal, refused while other Resources depend on it.

One Resource (``-t``/``-n`` or ``-i``), or every Resource of manifest files (``-f``, like
``kubectl delete -f``): one request, one transaction, dependents deleted first; refused as a
whole while a Resource outside the files still depends on one of them, unless ``--force``.
A Bundle is deleted with its members, in reverse order, then the empty workspaces it made.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from dataos_defs.cli.identifiers import FORMS_HINT
from dataos_defs.cli.manifests import read_manifests
from dataos_defs.cli.options import IdentOpt, IdOpt, NameOpt, TypeOpt, WorkspaceOpt, target
from dataos_defs.cli.output import console, fail
from dataos_defs.cli.resource_types import INSTANCE_TYPES
from dataos_defs.cli.session import api_session

if TYPE_CHECKING:
    from dataos_defs.api.client import DataosClient


def delete(
    kind: TypeOpt = None,
    name: NameOpt = None,
    workspace: WorkspaceOpt = None,
    identifier: IdentOpt = None,
    resource_id: IdOpt = None,
    files: Annotated[
        list[Path] | None,
        typer.Option("-f", "--manifestFile", help="delete the Resources of this file or folder"),
    ] = None,
    recursive: Annotated[
        bool,
        typer.Option("-R", "--recursive", help="also read the folders inside the folders given"),
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="delete even if others depend on it")
    ] = False,
) -> None:
    """Delete Resources (their history is kept for audit).

    A Resource named with -t/-n, -i or --id that does not exist prints '...nothing' and
    exits 0, as in DataOS; -f deletes all the files' Resources or none (each must exist)."""
    if files:
        if kind or name or identifier or resource_id:
            fail("delete takes either -f FILE or -t/-n (or -i/--id), not both")
        _delete_files(files, recursive, workspace, force)
        return
    kind, name, workspace = target(kind, name, workspace, identifier, resource_id)
    if not kind or not name:
        fail("delete needs -t TYPE and -n NAME, -i IDENTIFIER, --id ID, or -f FILE", FORMS_HINT)
    if kind == "bundle":
        with api_session() as client:
            _delete_bundle(client, name, force)
        return
    with api_session() as client:
        result = _delete_one(client, kind, name, workspace, force)
    if result is None:
        _nothing(kind, name, workspace)
    else:
        _deleted(result)


def _delete_files(files: list[Path], recursive: bool, workspace: str | None, force: bool) -> None:
    loaded = read_manifests(files, recursive, True, workspace)
    if loaded is None:
        raise typer.Exit(1)
    _, parsed = loaded
    if not parsed:
        fail("no Resource found in the files given")
    keys: list[dict[str, str | None]] = [
        {"type": r.kind, "name": r.name, "workspace": r.workspace(workspace)}
        for r in parsed
        if r.kind != "bundle"
    ]
    with api_session() as client:
        deleted = client.delete_resources(keys, force=force) if keys else []
        for result in deleted:
            _deleted(result)
        for bundle in (r.name for r in parsed if r.kind == "bundle"):
            _delete_bundle(client, bundle, force)


def _delete_bundle(client: DataosClient, name: str, force: bool) -> None:
    """A bundle goes with its members (reverse order) and the empty workspaces it created."""
    from dataos_defs.api.client import ApiFailure

    try:
        gone = client.request("DELETE", f"/poros/api/v1/bundles/{name}", params={"force": force})
    except ApiFailure as exc:
        if exc.status == 404 and exc.error.get("code") == "not_found":
            _nothing("bundle", name, None)
            return
        raise
    for result in gone["deleted"]:
        _deleted(result)
    for space in gone["workspaces"]:
        console.print(f"deleting workspace {space}...deleted", markup=False)


def _delete_one(
    client: DataosClient, kind: str, name: str, workspace: str | None, force: bool
) -> dict[str, Any] | None:
    """The deleted Resource, or ``None`` when the server has no such Resource."""
    from dataos_defs.api.client import ApiFailure

    try:
        return client.delete_resource(kind, name, workspace, force=force)
    except ApiFailure as exc:
        if exc.status == 404 and exc.error.get("code") == "not_found":
            return None
        raise


def _nothing(kind: str, name: str, workspace: str | None) -> None:
    where = f"({workspace or 'public'})" if kind not in INSTANCE_TYPES else ""
    console.print(f"deleting{where} {name}:{kind}...nothing", markup=False)


def _deleted(result: Mapping[str, Any]) -> None:
    where = f"({result['workspace']})" if result.get("workspace") else ""
    console.print(f"deleting{where} {result['name']}:{result['type']}...deleted", markup=False)
