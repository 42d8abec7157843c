"""The DataOS API server: one FastAPI app hosting the platform services' routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from dataos_defs import __version__
from dataos_defs.api import resources, workspaces
from dataos_defs.api.errors import install_error_handlers
from dataos_defs.poros.store import Store


def create_app(database_url: str | None = None) -> FastAPI:
    """Build the app; the store opens (and migrates) when the server starts."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.store = Store.open(database_url)
        try:
            yield
        finally:
            app.state.store.close()

    app = FastAPI(
        title="DataOS API",
        version=__version__,
        description="Poros (Resources and workspaces). Heimdall, Gateway, Metis and Caretaker "
        "routes join this server as they land.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.include_router(resources.router)
    app.include_router(workspaces.router)

    @app.get("/health", tags=["health"])
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    return app
