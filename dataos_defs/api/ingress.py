"""The Services ingress: the one way in to a Service from outside the platform.

``/<workspace>/<service>/<path>`` (or the manifest's ``ingress.path`` inside its workspace:
:mod:`dataos_defs.api.ingress_routing`) is forwarded to the Service's ready replicas
(:mod:`dataos_defs.api.ingress_proxy`), and only after

1. the path is checked: no dot or empty segment, no encoded ``/``, ``\\`` or ``.``
   (400), so a request can never be routed to one Service and reach another;
2. authentication: an API key (``Authorization: Bearer`` or ``apikey``), 401 without a
   usable one — asked before the Service is looked up, so an anonymous caller learns
   nothing about which Services exist;
3. authorization: Heimdall must allow the HTTP method, lower-cased (``HEAD`` as ``get``), on
   ``poros://service:<workspace>/<name>`` (403 with its reason; 503, denied, when it
   cannot decide). The object is tagged ``poros:owner`` when the caller owns the Service:
   by default (``policies/heimdall/system/services.yaml``) only owners and operators may
   call a Service.

A Service whose ingress says ``noAuthentication: true`` is the only exception (which
only whoever may ``expose`` it can apply: :mod:`dataos_defs.api.admission.services`): it
is forwarded without identity headers, and every such request is logged at INFO (method,
path, client address; never headers or the query). WebSockets are admitted the same way
(:mod:`dataos_defs.api.ingress_socket`).

Platform routes always win. The router is included last, and its routes never match a
path whose first segment is a platform route's
(:data:`dataos_defs.poros.workspaces.RESERVED_PATH_SEGMENTS`, which no workspace may
take). :class:`IngressFastPath` serves a request for a live Service's public path before
the framework routes it, which by the same rule can only be a request the ingress route
would get anyway; every other path (unknown, malformed) reaches the route last, for its
400, 401 or 404.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, cast

import aiohttp
from fastapi import APIRouter, FastAPI, Request, WebSocket
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from dataos_defs.api.authz import authorize
from dataos_defs.api.dagster_socket import deny
from dataos_defs.api.errors import ApiError, error_response
from dataos_defs.api.identity import (
    Identity,
    Unauthenticated,
    apikey_scheme,
    bearer_scheme,
    current_identity,
    unauthenticated_response,
)
from dataos_defs.api.ingress_proxy import Balancer, IngressSettings, forward, upstream_headers
from dataos_defs.api.ingress_routing import (
    Route,
    RouteTable,
    request_path_problem,
    upstream_path,
)
from dataos_defs.api.ingress_socket import relay_socket
from dataos_defs.heimdall.objects import OWNER_TAG, resource_object
from dataos_defs.poros.workloads import Endpoint, Workloads
from dataos_defs.poros.workspaces import RESERVED_PATH_SEGMENTS

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
POOL_SIZE = 1000
"""Connections to replicas at most, over all Services (kept alive 30 s when idle)."""

log = logging.getLogger(__name__)


class IngressRoute(APIRoute):
    """Never matches a platform route's first segment: a platform route that only lacks
    the method still answers 405 rather than falling through to the ingress."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        first = str(scope.get("path", "/"))[1:].split("/", 1)[0]
        if first in RESERVED_PATH_SEGMENTS:
            return Match.NONE, {}
        return super().matches(scope)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = IngressSettings.from_env()
    app.state.ingress_settings = settings
    app.state.ingress_balancer = Balancer()
    # No cookie jar: the session is shared by every caller, so a cookie one replica sets
    # must never travel with anybody's next request (to any Service). No decompression:
    # bodies pass through as the replica sent them, with their own Content-Encoding.
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=POOL_SIZE, keepalive_timeout=30),
        cookie_jar=aiohttp.DummyCookieJar(),
        auto_decompress=False,
        timeout=aiohttp.ClientTimeout(sock_connect=5, sock_read=settings.timeout),
        skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
    )
    async with session:
        app.state.ingress_client = session
        yield


router = APIRouter(
    tags=["ingress"], include_in_schema=False, lifespan=_lifespan, route_class=IngressRoute
)


@dataclass(frozen=True)
class Admitted:
    route: Route
    identity: Identity | None
    replicas: list[Endpoint]


def routes_of(request: Request) -> RouteTable:
    table: RouteTable | None = getattr(request.app.state, "ingress_routes", None)
    if table is None:
        table = RouteTable(request.app.state.store)
        request.app.state.ingress_routes = table
    return table


def _workloads(request: Request, route: Route) -> Workloads:
    found: Workloads | None = getattr(request.app.state, "workloads", None)
    if found is None:
        raise ApiError(
            503,
            "no_workload_runtime",
            f"service {route.workspace}/{route.name} cannot be reached: this API server "
            "runs no workload runtime",
            "operators: start the API server with Poros (DATAOS_SERVICES includes poros)",
        )
    return found


def predicate_of(method: str) -> str:
    """The HTTP method as Heimdall's predicate; ``HEAD`` is a ``GET`` without the body."""
    return "get" if method == "HEAD" else method.lower()


def admit(
    request: Request,
    method: str,
    raw_path: str,
    bearer: HTTPAuthorizationCredentials | None,
    apikey: str | None,
    route: Route | None = None,
) -> Admitted:
    """Route (unless ``route`` was found already), authenticate, authorize and list
    replicas. Called on the event loop, as the OPA hot path
    (:mod:`dataos_defs.api.opa_fast`) calls Heimdall: each step is an in-memory look-up
    but for a refresh at most once a second (routing table, policies) and a key's first
    use; a thread-pool hop per request would cost more than they do."""
    route = route or routes_of(request).find(raw_path)
    identity: Identity | None = None
    if route is None or not route.no_authentication:
        identity = current_identity(request.app.state.identities, bearer, apikey)
    if route is None:
        raise ApiError(
            404,
            "not_found",
            f"no service is served at {raw_path}",
            "see 'dataos-ctl get -t service'",
        )
    if identity is None:
        client = request.client.host if request.client is not None else "-"
        log.info("ingress without authentication: %s %s from %s", method, raw_path, client)
    else:
        owner = (OWNER_TAG,) if route.owner == identity.user_id else ()
        target = resource_object("service", route.name, route.workspace)
        authorize(request, identity, predicate_of(method), target, owner)
    workloads = _workloads(request, route)
    replicas = workloads.endpoints(route.workspace, route.name)
    if not replicas:
        runtime = workloads.runtime("service", route.workspace, route.name)
        state = "not running" if runtime is None else runtime.summary
        why = f" ({runtime.reason})" if runtime is not None and runtime.reason else ""
        raise ApiError(
            503,
            "service_unavailable",
            f"service {route.workspace}/{route.name} has no ready replica: {state}{why}",
            f"see 'dataos-ctl get runtime -t service -n {route.name} -w {route.workspace}'",
        )
    return Admitted(route, identity, replicas)


def raw_path_of(scope: Scope) -> str:
    """The request path as sent (still percent-encoded), without the query."""
    raw = scope.get("raw_path")
    path = raw.decode("latin-1") if isinstance(raw, bytes) else str(scope.get("path", "/"))
    return path.split("?", 1)[0]


async def serve(request: Request, raw_path: str, route: Route | None = None) -> Response:
    """Admit ``request`` and relay it; raises :class:`ApiError` (incl. 401) otherwise.
    ``route``: the Service the fast path found for ``raw_path``, a path it checked."""
    if route is None:
        problem = request_path_problem(raw_path)
        if problem is not None:
            raise ApiError(400, "bad_path", problem, "ask for the path without dot segments")
    bearer = await bearer_scheme(request)
    apikey = await apikey_scheme(request)
    admitted = admit(request, request.method, raw_path, bearer, apikey, route)
    balancer: Balancer = request.app.state.ingress_balancer
    settings: IngressSettings = request.app.state.ingress_settings
    return await forward(
        request,
        request.app.state.ingress_client,
        admitted.route,
        upstream_path(admitted.route, raw_path),
        admitted.identity,
        balancer.order(admitted.route, admitted.replicas),
        settings.max_body,
    )


@router.api_route("/{workspace}/{rest:path}", methods=METHODS)
async def ingress(request: Request) -> Any:
    """Every path the fast path did not take (see :class:`IngressFastPath`): answers 400
    for a malformed path, 401 without a key, 404 where no Service is served."""
    return await serve(request, raw_path_of(request.scope))


@router.websocket("/{workspace}/{rest:path}")
async def ingress_socket(websocket: WebSocket) -> None:
    """A websocket to a Service (:mod:`dataos_defs.api.ingress_socket`)."""
    raw_path = raw_path_of(websocket.scope)
    request = cast(Request, websocket)  # admission reads .app, .headers and .client only
    try:
        if raw_path[1:].split("/", 1)[0] in RESERVED_PATH_SEGMENTS:
            raise ApiError(404, "not_found", f"nothing is served at {raw_path}")
        problem = request_path_problem(raw_path)
        if problem is not None:
            raise ApiError(400, "bad_path", problem)
        bearer = await bearer_scheme(request)
        apikey = await apikey_scheme(request)
        admitted = admit(request, "GET", raw_path, bearer, apikey)
    except ApiError as exc:
        await deny(websocket, exc)
        return
    headers = upstream_headers(websocket.scope, admitted.route, admitted.identity)
    await relay_socket(websocket, admitted.route, headers)


class IngressFastPath:
    """ASGI middleware: a request for a Service's public path is served before the web
    framework routes it (the ingress route is the last of many, and an ingress request
    would otherwise pay for matching every platform route first, and for the framework's
    per-request machinery). It takes only what the ingress route would take anyway: a path
    whose first segment is no platform route's, well formed, inside a live Service's public
    path; everything else goes on to the application unchanged."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = scope["app"].state if scope["type"] == "http" and "app" in scope else None
        if state is None or getattr(state, "ingress_client", None) is None:
            await self.app(scope, receive, send)
            return
        raw_path = raw_path_of(scope)
        first = raw_path[1:].split("/", 1)[0]
        request = Request(scope, receive)
        route = (
            None
            if first in RESERVED_PATH_SEGMENTS or request_path_problem(raw_path) is not None
            else routes_of(request).find(raw_path)
        )
        if route is None:
            await self.app(scope, receive, send)
            return
        try:
            response = await serve(request, raw_path, route)
        except Unauthenticated as exc:
            response = unauthenticated_response(request, exc)
        except ApiError as exc:
            response = error_response(exc.status, exc.code, exc.message, exc.hint)
        await response(scope, receive, send)
