"""``dataos-ctl workspace create|get|delete``."""

from __future__ import annotations

from typing import Annotated

import typer

from dataos_defs.cli.apps import command_group
from dataos_defs.cli.lists import LIST_HELP, split_commas
from dataos_defs.cli.output import check_format, console, print_data, print_table
from dataos_defs.cli.session import api_session

app = command_group(help="Manage workspaces (tenants of workspace-level Resources).")


@app.command("create")
def create(
    name: Annotated[str, typer.Option("-n", "--name", help="name of the new workspace")],
    description: Annotated[
        str | None, typer.Option("-d", "--description", help="what the workspace is for")
    ] = None,
    tags: Annotated[
        list[str] | None, typer.Option("--tags", help=LIST_HELP, callback=split_commas)
    ] = None,
) -> None:
    """Create a workspace."""
    with api_session() as client:
        created = client.create_workspace(name, description, tags or [])
    console.print(f"workspace {created['name']}...created", markup=False)


@app.command("get")
def get(
    name: Annotated[str | None, typer.Option("-n", "--name", help="one workspace")] = None,
    output: Annotated[str, typer.Option("-o", "--output", help="table, json or yaml")] = "table",
) -> None:
    """List workspaces, or show one."""
    check_format(output)
    with api_session() as client:
        items = [client.get_workspace(name)] if name else client.list_workspaces()
    if output != "table":
        print_data(items, output)
        return
    print_table(
        ("NAME", "DESCRIPTION", "TAGS", "CREATED BY", "CREATED AT"),
        [
            (
                w["name"],
                w.get("description") or "",
                ",".join(w["tags"]),
                w["created_by"],
                w["created_at"],
            )
            for w in items
        ],
    )


@app.command("delete")
def delete(
    name: Annotated[str, typer.Option("-n", "--name", help="the workspace to delete")],
    force: Annotated[bool, typer.Option("--force", help="also delete its Resources")] = False,
) -> None:
    """Delete a workspace (refused while it holds Resources, unless --force)."""
    with api_session() as client:
        client.delete_workspace(name, force=force)
    console.print(f"workspace {name}...deleted", markup=False)
