"""``dataos-ctl serve`` and ``heimdall serve``: run the API server (all services, or Heimdall's).

With ``--workers N`` uvicorn runs N processes; each builds the app from the environment
(``DATAOS_SERVICES``, ``DATAOS_API_URL``), which is why the app is given by its factory.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

from dataos_defs.cli.apps import command_group

HostOpt = Annotated[str, typer.Option(help="bind address")]
WorkersOpt = Annotated[int, typer.Option(help="server processes (uvicorn workers)", min=1)]
LogOpt = Annotated[str, typer.Option(help="uvicorn log level")]


def run_server(services: str, host: str, port: int, workers: int, log_level: str) -> None:
    import uvicorn

    local = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    os.environ["DATAOS_SERVICES"] = services
    os.environ.setdefault("DATAOS_API_URL", f"http://{local}:{port}")
    uvicorn.run(
        "dataos_defs.api.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        access_log=False,
    )


def serve(
    host: HostOpt = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 7400,
    workers: WorkersOpt = 1,
    log_level: LogOpt = "info",
) -> None:
    """Serve the DataOS API (OpenAPI docs at /docs).

    The first start creates the operator and prints its API key once; the key is also
    saved, with this server's URL, in $DATAOS_HOME/credentials for dataos-ctl.
    """
    run_server("poros,heimdall,gateway", host, port, workers, log_level)


heimdall_app = command_group(help="Heimdall on its own: identities and decisions (OPA API).")


@heimdall_app.command("serve")
def heimdall_serve(
    host: HostOpt = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port (OPA's default)")] = 8181,
    workers: WorkersOpt = 1,
    log_level: LogOpt = "warning",
) -> None:
    """Serve only Heimdall: the OPA-compatible /v1 API, authorize, users, decisions."""
    run_server("heimdall", host, port, workers, log_level)
