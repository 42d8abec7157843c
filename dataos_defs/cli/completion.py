"""Shell completion: ``dataos-ctl completion bash|zsh|fish`` and what Tab offers.

Completion runs on every Tab, so the console script answers it before Typer loads
(:mod:`dataos_defs.cli.fast_completion`); these completers serve Typer's own path and
the tree that the fast path reads (:mod:`dataos_defs.cli.completion_tree`).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from dataos_defs.cli.fast_completion import COMPLETE_VAR, server_names
from dataos_defs.cli.resource_types import RESOURCE_TYPES

PROG_NAME = "dataos-ctl"


class Shell(StrEnum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"


def complete_type(incomplete: str) -> list[str]:
    return [kind for kind in RESOURCE_TYPES if kind.startswith(incomplete)]


def complete_name(ctx: typer.Context, incomplete: str) -> list[str]:
    """Names of Resources of the ``-t`` type (and ``-w`` workspace) already typed."""
    return server_names(ctx.params.get("kind"), ctx.params.get("workspace"), incomplete)


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
