"""The DataOS API server: one FastAPI app hosting the platform services' routes."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from dataos_defs import __version__, web
from dataos_defs.adapters.localfs import Storage
from dataos_defs.api import (
    bundles,
    caretaker_routes,
    dagster_door,
    dataset_routes,
    delivery_routes,
    gateway_routes,
    health_routes,
    heimdall_routes,
    history_routes,
    incident_routes,
    ingress,
    metis_sync,
    opa,
    resources,
    runtime,
    trino_protocol,
    users,
    workload_routes,
    workspaces,
)
from dataos_defs.api.client import DEFAULT_API_URL
from dataos_defs.api.errors import install_error_handlers
from dataos_defs.api.identity import Unauthenticated, unauthenticated_response
from dataos_defs.api.limits import ApplyLimits
from dataos_defs.api.metis import router as metis_router
from dataos_defs.api.metis.deps import open_catalog
from dataos_defs.api.opa_fast import FastDecisions
from dataos_defs.api.reconciler import Background, start_background
from dataos_defs.api.workloads import start_workloads, stop_workloads
from dataos_defs.gateway.service import Gateway
from dataos_defs.heimdall.credentials import API_URL_ENV
from dataos_defs.heimdall.identity import bootstrap_operator
from dataos_defs.heimdall.service import Heimdall
from dataos_defs.monitor import pagers
from dataos_defs.poros.identities import Identities
from dataos_defs.poros.settings import Settings
from dataos_defs.poros.store import Store

ALL_SERVICES = ("poros", "heimdall", "gateway")


def create_app(
    database_url: str | None = None,
    *,
    home: Path | None = None,
    api_url: str | None = None,
    services: tuple[str, ...] = ALL_SERVICES,
) -> FastAPI:
    """Build the app; the store opens (and migrates) when the server starts.

    On the first start of an installation the bootstrap operator is created and its API
    key is written to ``<home>/credentials`` together with ``api_url``, the address
    clients should use (``serve`` passes the one it listens on).
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = Store.open(database_url)
        state_home = home or Settings.from_env().home
        Storage.from_env(state_home)  # refuse storage roots inside the platform's state now
        heimdall: Heimdall | None = None
        gateway: Gateway | None = None
        background: Background | None = None
        try:
            app.state.store = store
            app.state.home = state_home
            app.state.identities = Identities(store)
            bootstrap_operator(
                app.state.identities,
                state_home,
                api_url or os.environ.get(API_URL_ENV) or DEFAULT_API_URL,
            )
            app.state.metis_catalog = open_catalog(store, app.state.identities)
            incident_routes.start_monitors(
                app, store, state_home, api_url or os.environ.get(API_URL_ENV) or DEFAULT_API_URL
            )
            heimdall = Heimdall(store, state_home)
            app.state.heimdall = heimdall
            metis_sync.start(app, store, heimdall)  # catalog tags mask; Resources cataloged
            if "gateway" in services:
                gateway = Gateway(store, heimdall, state_home)
                app.state.gateway = gateway
            if "poros" in services:
                background = start_background(store)
                bundles.start_runner(app)
                start_workloads(app, store, state_home)
            yield
        finally:
            if background is not None:
                background.stop()
            stop_workloads(app)  # embedded replicas stop too, unless kept on shutdown
            if getattr(app.state, "bundles", None) is not None:
                app.state.bundles.stop()
            pagers.shutdown()  # queued deliveries finish before the process goes
            if gateway is not None:
                gateway.close()
            if heimdall is not None:
                heimdall.close()
            metis_sync.stop(app)
            store.close()

    app = FastAPI(
        title="DataOS API",
        version=__version__,
        description="Poros (Resources and workspaces), Heimdall (users, API keys, access "
        "decisions, an OPA-compatible API) and the Gateway (governed SQL, also over Trino's "
        "client protocol at /v1/statement). Every route but /health needs an API key "
        "('Authorization: Bearer <key>' or 'apikey: <key>') and is authorized by Heimdall.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.add_exception_handler(Unauthenticated, unauthenticated_response)
    _include_routers(app, services)

    app.add_middleware(FastDecisions)
    app.add_middleware(ApplyLimits)
    app.add_middleware(ingress.IngressFastPath)  # a Service's path skips the routing

    return app


def _include_routers(app: FastAPI, services: tuple[str, ...]) -> None:
    """The routes of the services this server runs."""
    if "poros" in services:
        app.include_router(resources.router)
        app.include_router(bundles.router)
        app.include_router(workspaces.router)
        app.include_router(history_routes.router)
        app.include_router(runtime.router)
        app.include_router(workload_routes.router)  # after runtime: /runtime/workflow wins
        app.include_router(dagster_door.router)
        app.include_router(dataset_routes.router)
    app.include_router(health_routes.router)
    app.include_router(users.router)
    app.include_router(heimdall_routes.router)
    app.include_router(delivery_routes.router)
    app.include_router(opa.router)
    app.include_router(metis_router)
    app.include_router(caretaker_routes.router)
    app.include_router(incident_routes.router)
    if "gateway" in services:
        app.include_router(gateway_routes.router)
        app.include_router(trino_protocol.router)
    app.include_router(web.router)  # the pages: /, /login, /workbench, /catalog, /operations
    if "poros" in services:
        app.include_router(ingress.router)  # last: every platform route wins


def app_from_env() -> FastAPI:
    """The app as ``dataos-ctl serve`` configures it through the environment (one per worker)."""
    services = tuple(
        s.strip() for s in os.environ.get("DATAOS_SERVICES", ",".join(ALL_SERVICES)).split(",")
    )
    return create_app(api_url=os.environ.get(API_URL_ENV), services=services)
