"""Shell completion: ``dataos-ctl completion bash|zsh|fish`` and what Tab offers.

Completion runs the CLI on every Tab, so it imports nothing heavy: Resource types come
from :mod:`dataos_defs.cli.resource_types`; names are asked of the server within
``NAME_TIMEOUT_S`` and, when it cannot answer, nothing is offered (no error on a prompt).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from dataos_defs.cli.resource_types import RESOURCE_TYPES

NAME_TIMEOUT_S = 1.0
PROG_NAME = "dataos-ctl"
COMPLETE_VAR = "_DATAOS_CTL_COMPLETE"


class Shell(StrEnum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"


def complete_type(incomplete: str) -> list[str]:
    return [kind for kind in RESOURCE_TYPES if kind.startswith(incomplete)]


def complete_name(ctx: typer.Context, incomplete: str) -> list[str]:
    """Names of Resources of the ``-t`` type (and ``-w`` workspace) already typed."""
    kind, workspace = ctx.params.get("kind"), ctx.params.get("workspace")
    try:
        from dataos_defs.api.client import DataosClient

        with DataosClient(timeout=NAME_TIMEOUT_S) as client:
            items = client.list_resources(kind, workspace or "public", None)
    except Exception:  # a Tab must never print an error
        return []
    names = {str(item["name"]) for item in items}
    return sorted(name for name in names if name.startswith(incomplete))


def completion(
    shell: Annotated[Shell, typer.Argument(help="the shell to print the script for")],
) -> None:
    """Print the completion script of a shell; load it with e.g.
    'source <(dataos-ctl completion bash)' in ~/.bashrc."""
    from typer._completion_shared import get_completion_script

    script = get_completion_script(
        prog_name=PROG_NAME, complete_var=COMPLETE_VAR, shell=shell.value
    )
    typer.echo(script)
