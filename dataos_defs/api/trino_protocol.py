"""The subset of Trino's client protocol the official clients need, served by the Gateway.

``POST /v1/statement`` (the SQL as the body) answers with the first page and, while rows
remain, a ``nextUri`` (``GET`` it for the next page, ``DELETE`` it to cancel). Failures of
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
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from dataos_defs.api.errors import ApiError
from dataos_defs.api.gateway_routes import caller_of, gateway_errors, gateway_of
from dataos_defs.api.identity import Identity, Unauthenticated, get_identities
from dataos_defs.gateway.pages import Page
from dataos_defs.gateway.prepared import bind_execute_immediate
from dataos_defs.gateway.service import QueryRequest
from dataos_defs.gateway.wire import column_descriptor, row_encoder
from dataos_defs.poros.identities import Identities

router = APIRouter(tags=["trino protocol"])
PAGE_ROWS = 10_000
_ERROR_CODES = {
    400: (1, "SYNTAX_ERROR", "USER_ERROR"),
    403: (4, "PERMISSION_DENIED", "USER_ERROR"),
    404: (1, "NOT_FOUND", "USER_ERROR"),
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
            page = await run_in_threadpool(gateway.run, caller_of(identity), query)
    except ApiError as exc:
        if exc.status == 401:
            raise
        return _failure(request, exc)
    return JSONResponse(_page_body(request, page))


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
    gateway_of(request).cancel(caller_of(identity), query_id)
    return Response(status_code=204)
