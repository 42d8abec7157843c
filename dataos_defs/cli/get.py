"""``dataos-ctl get`` and ``get history``: what the store holds, as a table, JSON or YAML."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from dataos_defs.cli.apps import command_group
from dataos_defs.cli.incidents import show_incidents
from dataos_defs.cli.options import IdentOpt, IdOpt, NameOpt, TypeOpt, WorkspaceOpt, target
from dataos_defs.cli.output import (
    check_format,
    console,
    err_console,
    fail,
    print_data,
    print_table,
)
from dataos_defs.cli.runtime import show_runtime
from dataos_defs.cli.session import api_session

if TYPE_CHECKING:
    from dataos_defs.api.client import DataosClient

app = command_group(no_args_is_help=False)
COLUMNS = ("NAME", "VERSION", "TYPE", "WORKSPACE", "STATUS", "RUNTIME", "OWNER")
STATUS_WIDTH = 100

OutputOpt = Annotated[
    str,
    typer.Option("-o", "--output", help="table, json or yaml (DataOS' -o, the owner, is not here)"),
]


def _row(item: dict[str, Any], tags: bool = False) -> tuple[Any, ...]:
    cells = (
        item["name"],
        item["version"],
        item["type"],
        item["workspace"] or "",
        _status(item),
        item.get("runtime") or "",
        item.get("owner") or "",
    )
    return (*cells, ",".join(item.get("tags") or [])) if tags else cells


def _columns(tags: bool) -> tuple[str, ...]:
    return (*COLUMNS, "TAGS") if tags else COLUMNS


def _status(item: dict[str, Any]) -> str:
    """The status, with why for ``pending`` and ``error`` (reconciliation's progress, the
    load error), cut to fit a table row; ``-o yaml`` shows the whole reason."""
    status, reason = str(item["status"]), item.get("status_reason")
    if status not in ("pending", "error") or not reason:
        return status
    text = f"{status}: {reason}"
    return text if len(text) <= STATUS_WIDTH else text[: STATUS_WIDTH - 1] + "…"


def _one(
    client: DataosClient, kind: str, name: str, workspace: str | None, unsanitize: bool
) -> dict[str, Any] | None:
    """One Resource, or ``None`` when the server has no such Resource."""
    from dataos_defs.api.client import ApiFailure
    from dataos_defs.api.client_listing import get_tagged_resource

    try:
        return get_tagged_resource(client, kind, name, workspace, unsanitize)
    except ApiFailure as exc:
        if exc.status == 404 and exc.error.get("code") == "not_found":
            return None
        raise


def _no_match() -> None:
    """No match is an answer, not a failure (exit 0, as in DataOS); the message goes to
    stderr so that stdout stays empty for scripts."""
    err_console.print(
        "no Resources found (check -t/-n/-w, or -a for every workspace)", markup=False
    )


@app.callback(invoke_without_command=True)
def get(
    ctx: typer.Context,
    kind: TypeOpt = None,
    name: NameOpt = None,
    workspace: WorkspaceOpt = None,
    identifier: IdentOpt = None,
    resource_id: IdOpt = None,
    output: OutputOpt = "table",
    all_workspaces: Annotated[
        bool,
        typer.Option("-a", "--all", help="every owner's Resources in every workspace"),
    ] = False,
    owner: Annotated[
        str | None, typer.Option("--owner", help="only Resources of this owner (a user id)")
    ] = None,
    details: Annotated[bool, typer.Option("-d", "--details", help="show the manifest")] = False,
    unsanitize: Annotated[
        bool,
        typer.Option("--unsanitize", "--unSanitize", help="show secret values (needs permission)"),
    ] = False,
    refresh: Annotated[
        float | None,
        typer.Option(
            "-r", "--refreshRate", help="list again every N seconds until Ctrl+C (at least 1)"
        ),
    ] = None,
    tags: Annotated[
        bool,
        typer.Option(
            "--tags", help="add a TAGS column: each Resource's tags (always in -o json/yaml)"
        ),
    ] = False,
) -> None:
    """List Resources of a workspace (default public), or show one with -n/-i (-d: manifest).

    Rows are separated by '|' so that one pasted into -i names its Resource. Unlike DataOS,
    the list holds every owner's Resources you may read (narrow it with --owner); -a adds
    every workspace. -o is the output format here (DataOS' -o, the owner, is --owner). No
    match exits 0 with a message.

    Examples: dataos-ctl get -t workflow -w public --owner alice;
    dataos-ctl get -t service -a -r 5; dataos-ctl get -t depot --tags"""
    if ctx.invoked_subcommand is not None:
        return
    check_format(output)
    kind, name, workspace = target(kind, name, workspace, identifier, resource_id)
    if not all_workspaces:
        workspace = workspace or "public"
    if refresh is not None:
        _watch(
            refresh, lambda: _show(kind, name, workspace, owner, output, details, unsanitize, tags)
        )
        return
    _show(kind, name, workspace, owner, output, details, unsanitize, tags)


def _watch(seconds: float, show: Callable[[], None]) -> None:
    """``-r``: clear the screen and show again every ``seconds`` until interrupted."""
    if seconds < 1:
        fail("-r/--refreshRate must be at least 1 second")
    try:
        while True:
            console.clear()
            show()
            time.sleep(seconds)
    except KeyboardInterrupt:
        return


def _show(
    kind: str | None,
    name: str | None,
    workspace: str | None,
    owner: str | None,
    output: str,
    details: bool,
    unsanitize: bool,
    tags: bool = False,
) -> None:
    with api_session() as client:
        if name and kind and (details or unsanitize or output != "table"):
            item = _one(client, kind, name, workspace, unsanitize)
            if item is None:
                _no_match()
            elif output == "table":
                print_table(_columns(tags), [_row(item, tags)], pipes=True)
                print_data(item.get("manifest"), "yaml")
            else:
                print_data(item, output)
            return
        if tags or output != "table":
            from dataos_defs.api.client_listing import list_tagged_resources

            items = list_tagged_resources(client, kind, workspace, name)
        else:
            items = client.list_resources(kind, workspace, name)
    if owner is not None:
        items = [item for item in items if item.get("owner") == owner]
    if output != "table":
        print_data(items, output)
    elif not items:
        _no_match()
    else:
        print_table(_columns(tags), [_row(item, tags) for item in items], pipes=True)


app.command("runtime")(show_runtime)
app.command("incidents")(show_incidents)


@app.command("history")
def history(
    kind: TypeOpt = None,
    name: NameOpt = None,
    workspace: WorkspaceOpt = None,
    identifier: IdentOpt = None,
    resource_id: IdOpt = None,
    output: OutputOpt = "table",
) -> None:
    """Every revision of one Resource (audit trail)."""
    check_format(output)
    kind, name, workspace = target(kind, name, workspace, identifier, resource_id)
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
