"""``dataos-ctl serve``: run the API server (Poros and, as they land, the other services)."""

from __future__ import annotations

from typing import Annotated

import typer


def serve(
    host: Annotated[str, typer.Option(help="bind address")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 7400,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info",
) -> None:
    """Serve the DataOS API (OpenAPI docs at /docs).

    The first start creates the operator and prints its API key once; the key is also
    saved, with this server's URL, in $DATAOS_HOME/credentials for dataos-ctl.
    """
    import uvicorn

    from dataos_defs.api.app import create_app

    local = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    app = create_app(api_url=f"http://{local}:{port}")
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)
