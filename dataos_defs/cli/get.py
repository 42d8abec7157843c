"""``dataos-ctl get`` and ``get history``: what the store holds, as a table, JSON or YAML."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from dataos_defs.cli.output import check_format, fail, print_data, print_table
from dataos_defs.cli.runtime import show_runtime
from dataos_defs.cli.session import api_session, parse_identifier

app = typer.Typer(help="Show Resources.", no_args_is_help=False)
COLUMNS = ("NAME", "VERSION", "TYPE", "WORKSPACE", "STATUS", "RUNTIME", "OWNER")
STATUS_WIDTH = 100

TypeOpt = Annotated[str | None, typer.Option("-t", "--type", help="Resource type")]
NameOpt = Annotated[str | None, typer.Option("-n", "--name")]
WorkspaceOpt = Annotated[str | None, typer.Option("-w", "--workspace")]
IdentOpt = Annotated[
    str | None, typer.Option("-i", "--identifier", help="name:version:type[:workspace]")
]
OutputOpt = Annotated[str, typer.Option("-o", "--output", help="table, json or yaml")]


def _row(item: dict[str, Any]) -> tuple[Any, ...]:
    return (
        item["name"],
        item["version"],
        item["type"],
        item["workspace"] or "",
        _status(item),
        item.get("runtime") or "",
        item.get("owner") or "",
    )


def _status(item: dict[str, Any]) -> str:
    """The status, with why for ``pending`` and ``error`` (reconciliation's progress, the
    load error), cut to fit a table row; ``-o yaml`` shows the whole reason."""
    status, reason = str(item["status"]), item.get("status_reason")
    if status not in ("pending", "error") or not reason:
        return status
    text = f"{status}: {reason}"
    return text if len(text) <= STATUS_WIDTH else text[: STATUS_WIDTH - 1] + "…"


@app.callback(invoke_without_command=True)
def get(
    ctx: typer.Context,
    kind: TypeOpt = None,
    name: NameOpt = None,
    workspace: WorkspaceOpt = None,
    identifier: IdentOpt = None,
    output: OutputOpt = "table",
    all_workspaces: Annotated[
        bool, typer.Option("-a", "--all-workspaces", help="every workspace, not just -w")
    ] = False,
    details: Annotated[bool, typer.Option("-d", "--details", help="show the manifest")] = False,
    unsanitize: Annotated[
        bool, typer.Option("--unsanitize", help="show secret values (needs permission)")
    ] = False,
) -> None:
    """List Resources of a workspace (default public), or show one with -n/-i (-d: manifest)."""
    if ctx.invoked_subcommand is not None:
        return
    check_format(output)
    if identifier:
        name, _, kind, workspace = parse_identifier(identifier)
    if not all_workspaces:
        workspace = workspace or "public"
    with api_session() as client:
        if name and kind and (details or unsanitize or output != "table"):
            item = client.get_resource(kind, name, workspace, unsanitize=unsanitize)
            if output == "table":
                print_table(COLUMNS, [_row(item)])
                print_data(item.get("manifest"), "yaml")
            else:
                print_data(item, output)
            return
        items = client.list_resources(kind, workspace, name)
    if output != "table":
        print_data(items, output)
    elif not items:
        fail("no Resources found", "check -t/-n/-w, or apply some with 'dataos-ctl apply'")
    else:
        print_table(COLUMNS, [_row(item) for item in items])


app.command("runtime")(show_runtime)


@app.command("history")
def history(
    kind: TypeOpt = None,
    name: NameOpt = None,
    workspace: WorkspaceOpt = None,
    identifier: IdentOpt = None,
    output: OutputOpt = "table",
) -> None:
    """Every revision of one Resource (audit trail)."""
    check_format(output)
    if identifier:
        name, _, kind, workspace = parse_identifier(identifier)
    if not kind or not name:
        fail("get history needs -t TYPE and -n NAME (or -i)")
    with api_session() as client:
        body = client.history(kind, name, workspace)
    if output != "table":
        print_data(body, output)
        return
    print_table(
        ("REVISION", "ACTION", "VERSION", "APPLIED BY", "APPLIED AT", "SOURCE"),
        [
            (
                r["revision"],
                r["action"] + (" (compacted)" if r.get("compacted_at") else ""),
                r.get("version") or "",
                r["applied_by"],
                r["applied_at"],
                r.get("source_file") or "",
            )
            for r in body["revisions"]
        ],
    )
