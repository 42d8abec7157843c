"""Options shared by the Resource verbs, and turning them into one Resource to act on."""

from __future__ import annotations

from typing import Annotated

import typer

from dataos_defs.cli.completion import complete_name, complete_type
from dataos_defs.cli.identifiers import (
    FORMS_HINT,
    IdentifierError,
    parse_identifier,
    parse_type_first,
)
from dataos_defs.cli.output import fail
from dataos_defs.cli.resource_types import TYPE_HELP, type_problem


def check_type(ctx: typer.Context, kind: str | None) -> str | None:
    """``-t`` callback: an unknown type ends the command with the closest known one (but
    not while the shell completes a command line: Tab must never print an error)."""
    if kind is not None and not ctx.resilient_parsing:
        problem = type_problem(kind)
        if problem is not None:
            fail(*problem)
    return kind


TypeOpt = Annotated[
    str | None,
    typer.Option("-t", "--type", help=TYPE_HELP, callback=check_type, autocompletion=complete_type),
]
NameOpt = Annotated[
    str | None,
    typer.Option("-n", "--name", help="name of the Resource", autocompletion=complete_name),
]
WorkspaceOpt = Annotated[
    str | None,
    typer.Option("-w", "--workspace", help="workspace of the Resource (default public)"),
]
IdentOpt = Annotated[
    str | None,
    typer.Option(
        "-i",
        "--identifier",
        help="the Resource as 'name | version | type | workspace' (a row of get, pasted) "
        "or name:version:type[:workspace] (as apply prints it)",
    ),
]
IdOpt = Annotated[
    str | None,
    typer.Option("--id", help="the Resource as type:version:name[:workspace] (DataOS' form)"),
]


def target(
    kind: str | None,
    name: str | None,
    workspace: str | None,
    identifier: str | None,
    resource_id: str | None,
) -> tuple[str | None, str | None, str | None]:
    """``(type, name, workspace)`` from ``-i`` or ``--id`` when given, else from
    ``-t``/``-n``/``-w``; giving both kinds of spelling is refused."""
    if identifier is None and resource_id is None:
        return kind, name, workspace
    if identifier is not None and resource_id is not None:
        fail("give either -i or --id, not both", FORMS_HINT)
    if kind or name:
        fail("give the Resource either with -i/--id or with -t/-n, not both", FORMS_HINT)
    try:
        found = (
            parse_identifier(identifier)
            if identifier is not None
            else parse_type_first(str(resource_id))
        )
    except IdentifierError as exc:
        fail(exc.message, exc.hint)
    return found.kind, found.name, found.workspace or workspace
