"""``dataos-ctl help``, ``version`` and ``health``: the first commands a newcomer types."""

from __future__ import annotations

from typing import Annotated

import typer

from dataos_defs.cli.output import console, fail

PROBE_TIMEOUT_S = 5.0


def help_command(
    ctx: typer.Context,
    command: Annotated[
        list[str] | None, typer.Argument(help="a command and its subcommands, e.g. 'get runtime'")
    ] = None,
) -> None:
    """Show the help of dataos-ctl, or of a command (same as COMMAND --help / -h)."""
    root = ctx.find_root()
    root.command.main([*(command or []), "--help"], prog_name=root.info_name)


def version() -> None:
    """The client's version, and the API server's when it answers."""
    from dataos_defs import __version__
    from dataos_defs.api.client import ApiFailure, ApiUnavailable, CredentialsError, DataosClient

    console.print(f"dataos-ctl {__version__}", markup=False)
    try:
        with DataosClient(timeout=PROBE_TIMEOUT_S) as client:
            server = client.health().get("version", "unknown")
            where = client.base_url
    except (ApiUnavailable, ApiFailure, CredentialsError):
        console.print("server: not reachable", markup=False)
        return
    console.print(f"server {where}: {server}", markup=False)


def health() -> None:
    """Whether the API server answers, and how it sees its store, Heimdall's policy engine
    and Dagster; exit 1 when any of them fails ('not configured' is not a failure)."""
    from dataos_defs.cli.session import api_session

    with api_session() as client:
        client.health()
        console.print(f"API server {client.base_url}...ok", markup=False)
        components = client.health_components()
    failed = []
    for name in ("store", "heimdall", "dagster"):
        state = components.get(name) or {"status": "unknown"}
        extra = state.get("version") or state.get("error")
        console.print(f"{name}...{state['status']}{f' ({extra})' if extra else ''}", markup=False)
        if state["status"] == "error":
            failed.append(name)
    if failed:
        fail(f"unhealthy: {', '.join(failed)}", "the API server's log says why")
