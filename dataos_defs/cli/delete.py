"""``dataos-ctl delete``: final removal, refused while other Resources depend on it."""

from __future__ import annotations

from typing import Annotated

import typer

from dataos_defs.cli.output import console, fail
from dataos_defs.cli.session import api_session, parse_identifier


def delete(
    kind: Annotated[str | None, typer.Option("-t", "--type")] = None,
    name: Annotated[str | None, typer.Option("-n", "--name")] = None,
    workspace: Annotated[str | None, typer.Option("-w", "--workspace")] = None,
    identifier: Annotated[
        str | None, typer.Option("-i", "--identifier", help="name:version:type[:workspace]")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="delete even if others depend on it")
    ] = False,
) -> None:
    """Delete one Resource (its history is kept for audit)."""
    if identifier:
        name, _, kind, workspace = parse_identifier(identifier)
    if not kind or not name:
        fail("delete needs -t TYPE and -n NAME (or -i name:version:type[:workspace])")
    with api_session() as client:
        result = client.delete_resource(kind, name, workspace, force=force)
    where = f"({result['workspace']})" if result.get("workspace") else ""
    console.print(f"deleting{where} {name}:{kind}...deleted", markup=False)
