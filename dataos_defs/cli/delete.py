"""``dataos-ctl delete``: final removal, refused while other Resources depend on it.

One Resource (``-t``/``-n`` or ``-i``), or every Resource of manifest files (``-f``, like
``kubectl delete -f``): one request, one transaction, dependents deleted first; refused as a
whole while a Resource outside the files still depends on one of them, unless ``--force``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer

from dataos_defs.cli.manifests import read_manifests
from dataos_defs.cli.output import console, fail
from dataos_defs.cli.session import api_session, parse_identifier


def delete(
    kind: Annotated[str | None, typer.Option("-t", "--type")] = None,
    name: Annotated[str | None, typer.Option("-n", "--name")] = None,
    workspace: Annotated[str | None, typer.Option("-w", "--workspace")] = None,
    identifier: Annotated[
        str | None, typer.Option("-i", "--identifier", help="name:version:type[:workspace]")
    ] = None,
    files: Annotated[
        list[Path] | None,
        typer.Option("-f", "--manifestFile", help="delete the Resources of this file or folder"),
    ] = None,
    recursive: Annotated[bool, typer.Option("-R", "--recursive")] = False,
    force: Annotated[
        bool, typer.Option("--force", help="delete even if others depend on it")
    ] = False,
) -> None:
    """Delete Resources (their history is kept for audit)."""
    if files:
        if kind or name or identifier:
            fail("delete takes either -f FILE or -t/-n (or -i), not both")
        _delete_files(files, recursive, workspace, force)
        return
    if identifier:
        name, _, kind, workspace = parse_identifier(identifier)
    if not kind or not name:
        fail("delete needs -t TYPE and -n NAME, -i name:version:type[:workspace], or -f FILE")
    with api_session() as client:
        result = client.delete_resource(kind, name, workspace, force=force)
    _deleted(result)


def _delete_files(files: list[Path], recursive: bool, workspace: str | None, force: bool) -> None:
    loaded = read_manifests(files, recursive, True, workspace)
    if loaded is None:
        raise typer.Exit(1)
    _, parsed = loaded
    if not parsed:
        fail("no Resource found in the files given")
    keys: list[dict[str, str | None]] = [
        {"type": r.kind, "name": r.name, "workspace": r.workspace(workspace)} for r in parsed
    ]
    with api_session() as client:
        deleted = client.delete_resources(keys, force=force)
    for result in deleted:
        _deleted(result)


def _deleted(result: Mapping[str, Any]) -> None:
    where = f"({result['workspace']})" if result.get("workspace") else ""
    console.print(f"deleting{where} {result['name']}:{result['type']}...deleted", markup=False)
