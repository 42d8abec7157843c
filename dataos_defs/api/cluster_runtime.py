"""Runtime of clusters (``dataos-ctl get runtime -t cluster``): what really runs a cluster.

A cluster is not a process here: the Gateway serves it with an engine, the embedded DuckDB
engine inside the API server or a Trino endpoint (``DATAOS_MINERVA_<CLUSTER>_URL``). So its
runtime is that engine, its health and the queries the Gateway has open on it:

* embedded: healthy when the engine the Gateway holds answers ``SELECT 1``;
* Trino: healthy when ``GET <url>/v1/info`` (Trino's REST contract: ``nodeVersion``,
  ``starting``, ``uptime``) answers 200 with ``starting`` false, within
  :data:`PROBE_TIMEOUT_S`;
* statements executing on that cluster now (``executing``, ``statements``: seconds running,
  whether a cancel was asked), and the Gateway's open results on it (``queries``: run, rows
  not all fetched yet).
  Everyone sees how many; a query's id and user only for the caller's own queries, or for
  anyone who may read every user's query audit (``get`` on ``/gateway/api/v1/queries``,
  the audit trail's rule).

Reading it needs ``read`` on the cluster, like every runtime read.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, Request

from dataos_defs.api.authz import authorize, may
from dataos_defs.api.deps import get_store
from dataos_defs.api.errors import ApiError
from dataos_defs.api.gateway_routes import gateway_or_503
from dataos_defs.api.identity import Identity, current_identity
from dataos_defs.gateway.clusters import Engine, RoutingError
from dataos_defs.gateway.pages import OpenResult, ResultPages
from dataos_defs.gateway.running import RunningQuery
from dataos_defs.heimdall.objects import resource_object
from dataos_defs.minerva.settings import trino_endpoint
from dataos_defs.poros.store import Store

PROBE_TIMEOUT_S = 3.0
MAX_LISTED_QUERIES = 100
QUERIES_PATH = "/gateway/api/v1/queries"

router = APIRouter(tags=["runtime"])
"""Included by :mod:`dataos_defs.api.runtime` (under ``/poros/api/v1``)."""
StoreDep = Annotated[Store, Depends(get_store)]
IdentityDep = Annotated[Identity, Depends(current_identity)]


def embedded_health(engine: Engine, user: str) -> tuple[str, str | None]:
    """``("healthy", None)`` when the engine answers ``SELECT 1``, else why not."""
    try:
        rows = engine.execute("SELECT 1", (), user)
        try:
            answer = [row for batch in rows.batches(1) for row in batch]
        finally:
            rows.close()
    except Exception as exc:
        return "unhealthy", f"SELECT 1 failed: {exc.__class__.__name__}"
    if answer != [(1,)]:
        return "unhealthy", f"SELECT 1 answered {answer!r}"
    return "healthy", None


def trino_health(url: str) -> tuple[str, dict[str, Any]]:
    """Trino's ``GET /v1/info``: ``("healthy"|"starting"|"unreachable"|"unhealthy", info)``;
    the info holds the node's version and uptime when it answered."""
    try:
        answer = httpx.get(f"{url.rstrip('/')}/v1/info", timeout=PROBE_TIMEOUT_S)
    except httpx.HTTPError as exc:
        return "unreachable", {"reason": f"GET /v1/info: {exc.__class__.__name__}"}
    if answer.status_code != 200:
        return "unhealthy", {"reason": f"GET /v1/info answered HTTP {answer.status_code}"}
    try:
        info = answer.json()
    except ValueError:
        return "unhealthy", {"reason": "GET /v1/info did not answer JSON"}
    if not isinstance(info, dict):
        return "unhealthy", {"reason": "GET /v1/info did not answer an object"}
    version = (info.get("nodeVersion") or {}).get("version")
    found = {
        "version": version,
        "uptime": info.get("uptime"),
        "coordinator": info.get("coordinator"),
    }
    return ("starting" if info.get("starting") else "healthy"), found


def open_queries(pages: ResultPages, cluster: str) -> list[OpenResult]:
    """The Gateway's open results on ``cluster``, most recently used last."""
    return pages.open_on(cluster)


def _query(entry: OpenResult, now: float) -> dict[str, Any]:
    return {
        "query_id": entry.query_id,
        "user": entry.owner,
        "rows_sent": entry.sent,
        "idle_seconds": round(now - entry.used, 1),
    }


def _statement(entry: RunningQuery) -> dict[str, Any]:
    return {
        "query_id": entry.query_id,
        "user": entry.user,
        "seconds": round(max(0.0, time.time() - entry.started), 1),
        "cancelling": entry.cancelling,
    }


@router.get("/runtime/cluster/{name}", summary="A cluster's runtime: engine, health, queries")
def get_cluster_runtime(
    request: Request,
    name: str,
    store: StoreDep,
    identity: IdentityDep,
    workspace: str | None = None,
) -> dict[str, Any]:
    """The engine serving the cluster (embedded DuckDB or a Trino endpoint), its health and
    the Gateway's queries open on it (see the module docstring)."""
    ws = workspace or "public"
    authorize(request, identity, "read", resource_object("cluster", name, ws))
    found = store.get("cluster", name, ws)
    if found is None:
        raise ApiError(404, "not_found", f"cluster '{name}' not found in workspace '{ws}'")
    gateway = gateway_or_503(request, "no engine serves clusters here")
    gateway.refresh()
    try:
        engine = gateway.clusters.route(
            user_id=identity.user_id, user_tags=tuple(identity.tags), source=None, requested=name
        )
    except (RoutingError, KeyError) as exc:
        raise ApiError(
            409, "not_served", f"the Gateway serves no engine for cluster '{name}': {exc}"
        ) from exc
    endpoint = trino_endpoint(name)
    if endpoint is None:
        health, reason = embedded_health(engine, identity.user_id)
        details: dict[str, Any] = {"reason": reason} if reason else {}
        where = "embedded DuckDB in the API server"
    else:
        health, details = trino_health(endpoint[0])
        where = endpoint[0]
    now = time.monotonic()
    queries = open_queries(gateway.pages, name)
    executing = [q for q in gateway.running_queries() if q.cluster == name]
    everyone = may(request, identity, "get", QUERIES_PATH)
    shown = [q for q in queries if everyone or q.owner == identity.user_id]
    shown_executing = [q for q in executing if everyone or q.user == identity.user_id]
    return {
        "type": "cluster",
        "name": name,
        "workspace": ws,
        "status": found.status,
        "engine": engine.dialect,
        "endpoint": where,
        "health": health,
        "details": details,
        "running": len(queries),
        "queries": [_query(q, now) for q in shown[-MAX_LISTED_QUERIES:]],
        "executing": len(executing),
        "statements": [_statement(q) for q in shown_executing[:MAX_LISTED_QUERIES]],
    }
