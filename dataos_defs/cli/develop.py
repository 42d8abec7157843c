"""``dataos-ctl develop schema``: the JSON Schema of Resource types, for editors and CI."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from dataos_defs.cli.apps import command_group
from dataos_defs.cli.output import fail

app = command_group(help="Tools for manifest authors.")
schema_app = command_group(help="JSON Schema of Resource types.")
app.add_typer(schema_app, name="schema")

TypeOpt = Annotated[
    str | None, typer.Option("-t", "--type", help="Resource type; all types when absent")
]
VersionOpt = Annotated[str | None, typer.Option("-v", "--version", help="one version of the type")]


def _print_schema(kind: str | None, version: str | None) -> None:
    from dataos_defs.manifest.schema import UnknownResourceType, combined_schema, type_schema

    try:
        schema = type_schema(kind, version) if kind else combined_schema()
    except UnknownResourceType as exc:
        fail(str(exc))
    sys.stdout.write(json.dumps(schema, indent=2) + "\n")


@schema_app.callback(invoke_without_command=True)
def schema(ctx: typer.Context, kind: TypeOpt = None, version: VersionOpt = None) -> None:
    """Print a type's schema (-t) or the combined schema for yaml-language-server."""
    if ctx.invoked_subcommand is None:
        _print_schema(kind, version)


@schema_app.command("generate")
def generate(kind: TypeOpt = None, version: VersionOpt = None) -> None:
    """Same as ``develop schema`` (the DataOS spelling)."""
    _print_schema(kind, version)
