"""``dataos-ctl user changes``: what was changed of a user, by whom and when.

DataOS spells it ``user changes get -i ID``; ``user changes -i ID`` works too.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from dataos_defs.cli.apps import command_group
from dataos_defs.cli.output import check_format, err_console, fail, print_data, print_table
from dataos_defs.cli.session import api_session

MAX_CHANGES = 1000
COLUMNS = ("TIME", "USER", "CHANGE", "BY", "DETAILS")
HELP = (
    "Changes of a user: created, deleted, tags added or removed, API keys created or revoked "
    "(who, when). You may read your own; reading anyone's needs a policy (operators).\n\n"
    "Unlike DataOS, the record starts with the first change made through this server.\n\n"
    "Examples: dataos-ctl user changes get -i alice; dataos-ctl user changes -a -l 50"
)

app = command_group(help=HELP, no_args_is_help=False)


def _details(change: dict[str, Any]) -> str:
    details = change.get("details") or {}
    tags = details.get("tags")
    if tags is not None:
        more = f" (+{details['more']} more)" if details.get("more") else ""
        return ", ".join(tags) + more
    if details.get("key_id"):
        expires = details.get("expires_at") or "never"
        return f"key {details['name']} ({details['key_id']}), expires {expires}"
    return ""


def _row(change: dict[str, Any]) -> tuple[str, ...]:
    return (change["time"], change["user"], change["action"], change["by"], _details(change))


UserOpt = Annotated[
    str | None, typer.Option("-i", "--id", "-u", "--user-id", help="the user (default: you)")
]
AllOpt = Annotated[bool, typer.Option("-a", "--all", help="every user whose changes you may read")]
LimitOpt = Annotated[
    int, typer.Option("-l", "--limit", help=f"the newest N changes (1 to {MAX_CHANGES})")
]
OutputOpt = Annotated[str, typer.Option("-o", "--output", help="table, json or yaml")]


def show_changes(
    user_id: UserOpt = None,
    every_user: AllOpt = False,
    limit: LimitOpt = 100,
    output: OutputOpt = "table",
) -> None:
    """Show a user's changes, oldest first (-a: of every user you may read).

    Examples: dataos-ctl user changes get -i alice; dataos-ctl user changes get -a -o json"""
    from dataos_defs.api.client_users import user_changes

    check_format(output)
    if not 1 <= limit <= MAX_CHANGES:
        fail(f"-l/--limit must be between 1 and {MAX_CHANGES}, not {limit}")
    if every_user and user_id:
        fail("give either -i USER or -a, not both")
    with api_session() as client:
        wanted = None if every_user else user_id or str(client.whoami()["id"])
        changes = user_changes(client, wanted, limit)
    if output != "table":
        print_data(changes, output)
    elif not changes:
        err_console.print("no changes recorded", markup=False)
    else:
        print_table(COLUMNS, [_row(c) for c in changes])


@app.callback(invoke_without_command=True)
def changes(
    ctx: typer.Context,
    user_id: UserOpt = None,
    every_user: AllOpt = False,
    limit: LimitOpt = 100,
    output: OutputOpt = "table",
) -> None:
    if ctx.invoked_subcommand is None:
        show_changes(user_id, every_user, limit, output)


app.command("get")(show_changes)
