"""The subset of Trino's client protocol the official clients need, served by the Gateway.

``POST /v1/statement`` (the SQL as the body) answers with the first page and, while rows
remain, a ``nextUri`` (``GET`` it for the next page, ``DELETE`` it to cancel). A statement
still executing after :data:`FIRST_WAIT_SECONDS` is answered as Trino does, ``RUNNING`` with
no rows yet and a ``nextUri`` under ``/v1/statement/queued/`` that the client polls (each
poll waits up to :data:`POLL_WAIT_SECONDS`); ``DELETE`` of it stops the statement on the
engine (``Gateway.cancel``: only the query's owner, or an operator). Failures of
the statement come back as Trino does: HTTP 200 with ``stats.state = FAILED`` and an
``error`` object (``errorName``, ``errorType``: ``USER_ERROR`` for refused statements and
engine errors, ``PERMISSION_DENIED`` for datasets the caller may not read), so the clients
raise their usual exceptions. Authentication is ours: the API key as a Bearer token, as the
password of HTTP Basic (user = the key's user) or in the ``apikey`` header. ``X-Trino-User``,
when sent, must name the key's user (no impersonation). ``X-Trino-Catalog``/``-Schema`` set
the defaults for unqualified table names and ``X-Trino-Source`` takes part in routing.
Prepared statements arrive as ``EXECUTE IMMEDIATE '<sql>' USING <literals>`` (the client's
default): the literals are bound into the statement before it is analysed like any other.
"""

from __future__ import annotations

import base64
import binascii
import threading
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from dataos_defs.api.errors import ApiError
from dataos_defs.api.gateway_routes import caller_of, cancel_for, gateway_errors, gateway_of
from dataos_defs.api.identity import Identity, Unauthenticated, get_identities
from dataos_defs.gateway.background import BackgroundRun, BackgroundRuns, TooManyBackground
from dataos_defs.gateway.pages import Page
from dataos_defs.gateway.prepared import bind_execute_immediate
from dataos_defs.gateway.service import QueryRequest
from dataos_defs.gateway.wire import column_descriptor, row_encoder
from dataos_defs.poros.identities import Identities

router = APIRouter(tags=["trino protocol"])
PAGE_ROWS = 10_000
FIRST_WAIT_SECONDS = 1.0
POLL_WAIT_SECONDS = 1.0
_RUNS_LOCK = threading.Lock()
_ERROR_CODES = {
    400: (1, "SYNTAX_ERROR", "USER_ERROR"),
    403: (4, "PERMISSION_DENIED", "USER_ERROR"),
    404: (1, "NOT_FOUND", "USER_ERROR"),
    409: (3, "USER_CANCELED", "USER_ERROR"),
    429: (131079, "QUERY_QUEUE_FULL", "INSUFFICIENT_RESOURCES"),
    503: (65536, "GENERIC_INTERNAL_ERROR", "INTERNAL_ERROR"),
}
_REFUSED_NAMES = {"query_refused": "NOT_SUPPORTED", "no_cluster": "CLUSTER_NOT_FOUND"}


def _key_of(request: Request) -> tuple[str | None, str | None]:
    """(API key, user named by HTTP Basic) from the request's credentials."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip(), None
    if scheme.lower() == "basic" and value.strip():
        try:
            user, _, password = base64.b64decode(value.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise Unauthenticated("the Basic credentials are not valid base64") from None
        return password, user
    return request.headers.get("apikey"), None


def trino_identity(
    request: Request, identities: Annotated[Identities, Depends(get_identities)]
) -> Identity:
    key, basic_user = _key_of(request)
    if not key:
        raise Unauthenticated("this request carries no API key")
    principal = identities.authenticate(key.strip())
    if principal is None:
        raise Unauthenticated("the API key is not valid (unknown, revoked or expired)")
    for claimed in (basic_user, request.headers.get("x-trino-user")):
        if claimed and claimed != principal.user_id:
            raise ApiError(
                403,
                "forbidden",
                f"the API key belongs to {principal.user_id}, not {claimed}",
                "set the client's user to the key's user; impersonation is not supported",
            )
    return Identity(principal.user_id, principal.tags)


TrinoIdentity = Annotated[Identity, Depends(trino_identity)]


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _stats(state: str, rows: int = 0) -> dict[str, Any]:
    return {
        "state": state,
        "queued": False,
        "scheduled": True,
        "nodes": 1,
        "totalSplits": 1,
        "queuedSplits": 0,
        "runningSplits": 0,
        "completedSplits": 1 if state == "FINISHED" else 0,
        "cpuTimeMillis": 0,
        "wallTimeMillis": 0,
        "queuedTimeMillis": 0,
        "elapsedTimeMillis": 0,
        "processedRows": rows,
        "processedBytes": 0,
        "peakMemoryBytes": 0,
    }


def _page_body(request: Request, page: Page) -> dict[str, Any]:
    base = _base(request)
    encode = row_encoder([t for _, t in page.columns])
    body: dict[str, Any] = {
        "id": page.query_id,
        "infoUri": f"{base}/ui/query.html?{page.query_id}",
        "columns": [column_descriptor(name, type_) for name, type_ in page.columns],
        "data": [encode(row) for row in page.rows],
        "stats": _stats("RUNNING" if page.next_token is not None else "FINISHED", len(page.rows)),
        "warnings": [],
    }
    if page.next_token is not None:
        body["nextUri"] = f"{base}/v1/statement/executing/{page.query_id}/{page.next_token}"
    return body


def _failure(request: Request, exc: ApiError) -> JSONResponse:
    code, name, kind = _ERROR_CODES.get(exc.status, _ERROR_CODES[400])
    name = _REFUSED_NAMES.get(exc.code, name)
    message = exc.message + (f" (hint: {exc.hint})" if exc.hint else "")
    failed_id = "failed"
    body = {
        "id": failed_id,
        "infoUri": f"{_base(request)}/ui/query.html?{failed_id}",
        "stats": _stats("FAILED"),
        "error": {
            "message": message,
            "errorCode": code,
            "errorName": name,
            "errorType": kind,
            "failureInfo": {"type": exc.code, "message": message, "suppressed": [], "stack": []},
        },
        "warnings": [],
    }
    return JSONResponse(body)


def _background(request: Request) -> BackgroundRuns:
    state = request.app.state
    with _RUNS_LOCK:
        runs: BackgroundRuns | None = getattr(state, "trino_runs", None)
        if runs is None:
            runs = state.trino_runs = BackgroundRuns()
    return runs


def _pending_body(request: Request, query_id: str, poll: int) -> dict[str, Any]:
    """A statement still executing: no columns or rows yet, the URI to poll (or delete)."""
    base = _base(request)
    return {
        "id": query_id,
        "infoUri": f"{base}/ui/query.html?{query_id}",
        "nextUri": f"{base}/v1/statement/queued/{query_id}/{poll}",
        "stats": _stats("RUNNING"),
        "warnings": [],
    }


def _answer(request: Request, run: BackgroundRun, poll: int) -> Response:
    """The run's first page, its failure as Trino reports one, or (still executing) the
    next poll."""
    if not run.done.is_set():
        return JSONResponse(_pending_body(request, run.query_id, poll + 1))
    if run.error is not None:
        try:
            with gateway_errors():
                raise run.error
        except ApiError as exc:
            return _failure(request, exc)
    assert run.page is not None
    return JSONResponse(_page_body(request, run.page))


@router.post("/v1/statement")
async def post_statement(request: Request, identity: TrinoIdentity) -> Response:
    sql = (await request.body()).decode("utf-8", errors="replace")
    headers = request.headers
    gateway = gateway_of(request)
    try:
        with gateway_errors():
            bound = bind_execute_immediate(sql)
            query = QueryRequest(
                sql=bound,
                cluster=headers.get("x-dataos-cluster"),
                catalog=headers.get("x-trino-catalog") or None,
                schema=headers.get("x-trino-schema") or None,
                source=headers.get("x-trino-source") or "trino-client",
                page_rows=PAGE_ROWS,
            )
    except ApiError as exc:
        return _failure(request, exc)
    caller = caller_of(identity)
    query_id = uuid.uuid4().hex
    try:
        run = _background(request).start(
            identity.user_id, query_id, lambda: gateway.run(caller, query, query_id=query_id)
        )
    except TooManyBackground as exc:
        return _failure(request, ApiError(429, "too_many_queries", str(exc)))
    found = await run_in_threadpool(
        _background(request).wait, query_id, identity.user_id, FIRST_WAIT_SECONDS
    )
    return _answer(request, found or run, -1)


@router.get("/v1/statement/queued/{query_id}/{poll}")
async def get_queued(
    query_id: str, poll: int, request: Request, identity: TrinoIdentity
) -> Response:
    """Poll a statement that was still executing: wait a little, then answer."""
    found = await run_in_threadpool(
        _background(request).wait, query_id[:64], identity.user_id, POLL_WAIT_SECONDS
    )
    if found is None:
        message = f"no query {query_id[:64]} of yours is executing"
        return _failure(request, ApiError(404, "no_such_result", message))
    return _answer(request, found, poll)


@router.delete("/v1/statement/queued/{query_id}/{poll}", status_code=204)
def cancel_queued(query_id: str, poll: int, request: Request, identity: TrinoIdentity) -> Response:
    """Stop the executing statement on the engine (Trino clients' cancel)."""
    cancel_for(request, identity, query_id[:64])
    return Response(status_code=204)


@router.get("/v1/statement/executing/{query_id}/{token}")
def get_next(query_id: str, token: int, request: Request, identity: TrinoIdentity) -> Response:
    try:
        with gateway_errors():
            page = gateway_of(request).page(caller_of(identity), query_id, token)
    except ApiError as exc:
        if exc.status == 401:
            raise
        return _failure(request, exc)
    return JSONResponse(_page_body(request, page))


@router.delete("/v1/statement/executing/{query_id}/{token}", status_code=204)
def cancel(query_id: str, token: int, request: Request, identity: TrinoIdentity) -> Response:
    cancel_for(request, identity, query_id[:64])
    return Response(status_code=204)
