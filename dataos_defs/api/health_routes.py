"""``GET /health`` (liveness, no key needed) and ``GET /health/components``: what
``dataos-ctl health`` shows beyond "the API answers".

Each component is ``ok``, ``not configured`` or ``error`` with the error's class name only:
no message, URL or path leaves the server, since any signed-in user may ask.
"""

from __future__ import annotations

import logging
import os
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import text

from dataos_defs import __version__
from dataos_defs.adapters.dagster_graphql import DagsterGraphQL
from dataos_defs.api.identity import Identity, current_identity
from dataos_defs.api.reconcile import DAGSTER_URL_ENV
from dataos_defs.heimdall.pdp import AccessRequest

router = APIRouter(tags=["health"])
log = logging.getLogger(__name__)
DAGSTER_PROBE_TIMEOUT_S = 3.0


def _failed(component: str, exc: Exception) -> dict[str, str]:
    log.warning("health: %s failed", component, exc_info=exc)
    return {"status": "error", "error": exc.__class__.__name__}


def _store(request: Request) -> dict[str, str]:
    try:
        with request.app.state.store.reading() as session:
            session.execute(text("SELECT 1"))
    except Exception as exc:  # any failure is the answer
        return _failed("store", exc)
    return {"status": "ok"}


def _heimdall(request: Request) -> dict[str, str]:
    """One decision, not logged, proves the policy engine evaluates."""
    heimdall = getattr(request.app.state, "heimdall", None)
    if heimdall is None:
        return {"status": "not configured"}
    try:
        heimdall.pdp.decide(AccessRequest.of(["roles:id:health"], "read", "dataos://health"))
    except Exception as exc:
        return _failed("heimdall", exc)
    return {"status": "ok"}


def _dagster() -> dict[str, str]:
    url = os.environ.get(DAGSTER_URL_ENV)
    if not url:
        return {"status": "not configured"}
    try:
        with DagsterGraphQL(url, timeout=DAGSTER_PROBE_TIMEOUT_S) as client:
            version = client.execute("{ version }").get("version")
    except Exception as exc:
        return _failed("dagster", exc)
    return {"status": "ok", "version": str(version)}


@router.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok", "version": __version__}


@router.get("/health/components")
def components(
    request: Request, identity: Annotated[Identity, Depends(current_identity)]
) -> dict[str, Any]:
    """The API server, its store, Heimdall's policy engine and Dagster, each with a status."""
    return {
        "api": {"status": "ok", "version": __version__},
        "store": _store(request),
        "heimdall": _heimdall(request),
        "dagster": _dagster(),
    }
