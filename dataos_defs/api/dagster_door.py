"""The Dagster door: Dagster's UI, read-only, reached only through the API server.

Dagster's own webservers authenticate nobody, so they listen on loopback (or, on Kubernetes,
behind a NetworkPolicy) and users get this route family instead: ``/dagster/...`` is proxied,
HTTP and websockets, to the read-only webserver at ``DAGSTER_UI_URL`` (started with
``--read-only --path-prefix /dagster``), after

1. authentication: an API key (``Authorization: Bearer``, ``apikey``) or the session cookie
   of ``/dagster/login`` (:mod:`dataos_defs.api.dagster_session`); 401 without one, and a
   browser asking for a page is sent to the sign-in page instead;
2. authorization: Heimdall must allow ``read`` on ``dagster://ui`` (403 with the reason, 503
   when it cannot decide), for every request and every websocket;
3. the door's own checks: GraphQL reads only (:mod:`dataos_defs.api.dagster_guard`, also
   for every websocket message: :mod:`dataos_defs.api.dagster_socket`), other paths
   ``GET``/``HEAD`` only, Dagster's write and file endpoints not at all, bodies and websocket
   messages at most 1 MiB, cookie-authenticated posts and websockets from this origin only.

Whoever may read ``dagster://ui`` sees every run, its logs and the asset graph. Forwarded
requests lose the client's ``Cookie``, ``Authorization``, ``apikey`` and hop-by-hop headers.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any, cast
from urllib.parse import parse_qsl, quote, urlencode

import httpx
from fastapi import APIRouter, FastAPI, Request, WebSocket
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse
from starlette.background import BackgroundTask

from dataos_defs.api import dagster_guard as guard
from dataos_defs.api import dagster_session as sessions
from dataos_defs.api import dagster_socket as sockets
from dataos_defs.api.authz import authorize
from dataos_defs.api.errors import ApiError
from dataos_defs.api.identity import (
    Identity,
    Unauthenticated,
    apikey_scheme,
    bearer_scheme,
    current_identity,
    get_identities,
)
from dataos_defs.api.proxy_headers import NOT_FORWARDED, NOT_RETURNED, forwarded_headers
from dataos_defs.api.reconcile import DAGSTER_URL_ENV
from dataos_defs.api.sessions import revoke
from dataos_defs.poros import apikeys

UI_URL_ENV = "DAGSTER_UI_URL"
OBJECT = "dagster://ui"
PREFIX = sessions.PREFIX
CLOSED_ENDPOINTS = ("report_asset_", "notebook", "dagit/notebook")
"""Dagster's REST writes (runless asset events) and its notebook renderer (reads a file by
path): the UI needs neither, and the door serves neither."""

log = logging.getLogger(__name__)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    upstream = (os.environ.get(UI_URL_ENV) or "").rstrip("/") or None
    if upstream is not None and upstream == (os.environ.get(DAGSTER_URL_ENV) or "").rstrip("/"):
        log.warning("%s is the writable webserver; start a read-only one for users", UI_URL_ENV)
    app.state.dagster_ui_url = upstream
    timeout = httpx.Timeout(120, connect=5)
    # No cookie jar: the client is shared by every user, so nothing an upstream sets may
    # travel with anybody's next request.
    no_cookies = CookieJar(DefaultCookiePolicy(allowed_domains=[]))
    async with httpx.AsyncClient(timeout=timeout, trust_env=False, cookies=no_cookies) as client:
        app.state.dagster_door_client = client
        yield


router = APIRouter(tags=["dagster"], include_in_schema=False, lifespan=_lifespan)


# -- who is asking ---------------------------------------------------------------------------


async def _authenticate(request: Request) -> tuple[Identity, sessions.Session | None]:
    """The caller by API key, else by session cookie; raises :class:`Unauthenticated`."""
    bearer = await bearer_scheme(request)
    apikey = await apikey_scheme(request)
    identities = get_identities(request)
    if bearer is not None or apikey:
        identity = await run_in_threadpool(current_identity, identities, bearer, apikey)
        return identity, None
    token = request.cookies.get(sessions.SESSION_COOKIE)
    if not token:
        raise Unauthenticated("this request carries no API key and no session")
    session = sessions.decode(sessions.signing_key(request), token)
    if session is None:
        raise Unauthenticated("the session is not valid (forged, tampered with or expired)")
    found = await run_in_threadpool(sessions.identity_of, identities, session)
    if found is None:
        raise Unauthenticated("the API key of this session is no longer active")
    return found, session


async def _admit(request: Request, reads_only: bool) -> sessions.Session | None:
    """Authenticate and ask Heimdall; a session may act cross-origin only for plain reads."""
    identity, session = await _authenticate(request)
    if session is not None and not reads_only:
        _same_origin(request)
    await run_in_threadpool(authorize, request, identity, "read", OBJECT)
    return session


def _same_origin(request: Request) -> None:
    if not sessions.same_origin(request):
        raise ApiError(
            403,
            "cross_origin",
            "a request from another origin may not use the Dagster UI session",
            "open the Dagster UI from this server",
        )


def _wants_page(request: Request) -> bool:
    return request.method in ("GET", "HEAD") and "text/html" in request.headers.get("accept", "")


def _to_login(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    response = RedirectResponse(f"{sessions.LOGIN_PATH}?next={quote(target, safe='')}", 303)
    if sessions.SESSION_COOKIE in request.cookies:
        sessions.clear_session_cookie(response, sessions.is_secure(request))
    return response


# -- sign in and out --------------------------------------------------------------------------


def _page(request: Request, next_path: str, status: int = 200, error: str | None = None) -> Any:
    cookie, token = sessions.new_csrf(sessions.signing_key(request))
    response = HTMLResponse(sessions.login_page(token, next_path, error), status_code=status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    )
    response.set_cookie(
        sessions.CSRF_COOKIE,
        cookie,
        max_age=sessions.CSRF_SECONDS,
        path=sessions.LOGIN_PATH,
        secure=sessions.is_secure(request),
        httponly=True,
        samesite="strict",
    )
    return response


@router.get(PREFIX)
def door_root() -> RedirectResponse:
    return RedirectResponse(f"{PREFIX}/", 307)


@router.get(sessions.LOGIN_PATH)
def login_form(request: Request, next: str | None = None) -> Any:
    return _page(request, sessions.safe_next(next))


@router.post(sessions.LOGIN_PATH)
async def login(request: Request) -> Any:
    body = await _body(request, limit=16 << 10)
    form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    next_path = sessions.safe_next(form.get("next"))
    key = form.get("api_key", "").strip()
    signing = sessions.signing_key(request)
    if not sessions.same_origin(request) or not sessions.csrf_ok(
        signing, request.cookies.get(sessions.CSRF_COOKIE), form.get("csrf")
    ):
        return _page(request, next_path, 403, "The sign-in form expired or came from elsewhere.")
    identities = get_identities(request)
    principal = await run_in_threadpool(identities.authenticate, key) if key else None
    key_id = apikeys.key_id_of(key)
    if principal is None or key_id is None:
        return _page(request, next_path, 401, "That API key is not valid.")
    identity = Identity(principal.user_id, principal.tags)
    try:
        await run_in_threadpool(authorize, request, identity, "read", OBJECT)
    except ApiError as exc:
        return _page(request, next_path, exc.status, exc.message)
    keys = await run_in_threadpool(identities.list_api_keys, principal.user_id)
    [info] = [k for k in keys if k.key_id == key_id]
    session = sessions.issue(principal.user_id, key_id, info.expires_at)
    response = RedirectResponse(next_path, 303)
    sessions.set_session_cookie(
        response,
        sessions.encode(signing, session),
        sessions.expires_in(session),
        sessions.is_secure(request),
    )
    response.delete_cookie(
        sessions.CSRF_COOKIE, path=sessions.LOGIN_PATH, httponly=True, samesite="strict"
    )
    return response


@router.post(f"{PREFIX}/logout")
def logout(request: Request) -> Any:
    _same_origin(request)
    token = request.cookies.get(sessions.SESSION_COOKIE, "")
    session = sessions.decode(sessions.signing_key(request), token)
    if session is not None:
        revoke(request.app.state.store, session)
    response = RedirectResponse(sessions.LOGIN_PATH, 303)
    sessions.clear_session_cookie(response, sessions.is_secure(request))
    return response


# -- HTTP -------------------------------------------------------------------------------------


async def _body(request: Request, limit: int = guard.MAX_BODY) -> bytes:
    too_large = ApiError(
        413,
        "request_too_large",
        f"request bodies through the Dagster door are at most {limit} bytes",
    )
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def _upstream(request: Request) -> str:
    base: str | None = request.app.state.dagster_ui_url
    if base is None:
        raise ApiError(
            503,
            "dagster_ui_unavailable",
            "no read-only Dagster webserver is configured behind the door",
            f"start the platform with 'make up', or set {UI_URL_ENV}",
        )
    return base


def _route(path: str) -> str:
    """``graphql``, ``page`` (GET/HEAD), or raise for what the door never forwards."""
    *inner, last = path.split("/")
    if any(s in ("", ".", "..") for s in inner) or last in (".", "..") or "\\" in path:
        raise ApiError(400, "bad_path", "the path has empty, '.' or '..' segments")
    if path.rstrip("/") == "graphql":
        return "graphql"
    if path.startswith(CLOSED_ENDPOINTS):
        raise ApiError(403, "not_served", f"the door does not serve Dagster's /{path}")
    return "page"


@router.api_route(
    f"{PREFIX}/{{path:path}}",
    methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
)
async def door(request: Request, path: str) -> Any:
    try:
        await _admit(request, reads_only=request.method in ("GET", "HEAD"))
    except Unauthenticated:
        if _wants_page(request):
            return _to_login(request)
        raise
    kind = _route(path)
    body = await _body(request)
    raw_path = request.scope.get("raw_path", request.url.path.encode()).decode("latin-1")
    query = request.url.query
    if kind == "graphql" and request.method in ("GET", "HEAD"):
        query = urlencode(guard.canonical_get(parse_qsl(query, keep_blank_values=True)))
        body = b""
    elif kind == "graphql" and request.method == "POST":
        body = guard.canonical_post(request.headers.get("content-type", ""), body)
        query = ""
    elif kind == "graphql" or request.method not in ("GET", "HEAD"):
        raise ApiError(405, "method_not_allowed", f"the door does not forward {request.method}")
    else:
        body = b""
    headers = forwarded_headers(request.headers.items(), NOT_FORWARDED | {"content-type"})
    if body:
        headers.append(("content-type", "application/json"))
    base = _upstream(request)
    url = f"{base}{raw_path}" + (f"?{query}" if query else "")
    client: httpx.AsyncClient = request.app.state.dagster_door_client
    upstream_request = client.build_request(request.method, url, headers=headers, content=body)
    try:
        upstream = await client.send(upstream_request, stream=True)
    except httpx.TimeoutException as exc:
        raise ApiError(504, "dagster_ui_timeout", "the Dagster webserver did not answer") from exc
    except httpx.HTTPError as exc:
        raise ApiError(502, "dagster_ui_unreachable", f"the Dagster webserver: {exc}") from exc
    answer = dict(forwarded_headers(upstream.headers.multi_items(), NOT_RETURNED))
    location = upstream.headers.get("location")
    if location is not None and location.startswith(base):
        answer["location"] = location[len(base) :] or "/"
    return StreamingResponse(
        upstream.aiter_raw(),
        status_code=upstream.status_code,
        headers=answer,
        background=BackgroundTask(upstream.aclose),
    )


# -- websockets -------------------------------------------------------------------------------


@router.websocket(f"{PREFIX}/{{path:path}}")
async def door_socket(websocket: WebSocket, path: str) -> None:
    # Authentication and authz read only what every connection has (.app, .headers, .cookies).
    request = cast(Request, websocket)
    try:
        session = await _admit(request, reads_only=False)
        if _route(path) != "graphql":
            raise ApiError(404, "not_found", "Dagster has a websocket at /dagster/graphql only")
        base = _upstream(request)
    except ApiError as exc:
        await sockets.deny(websocket, exc)
        return
    url = "ws" + base.removeprefix("http") + f"{PREFIX}/graphql"
    deadline = None if session is None else float(session.expires_at)
    await sockets.relay(websocket, url, deadline)
