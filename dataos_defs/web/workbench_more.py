"""Workbench: the user's query history (the Gateway's audit) and CSV downloads.

History is ``query_history`` of the API: one's own queries; another user's (or everyone's)
only for whom Heimdall lets ``get`` ``/gateway/api/v1/queries`` (403 otherwise, direct URLs
included). The audit keeps the SHA-256 of the statement, never its text, and the rewritten
SQL the engine ran.

A CSV download runs the statement through ``Gateway.run`` like any query (so a refusal is
an error page before anything is sent) and streams the rows page by page; it stops at
:data:`MAX_CSV_ROWS` rows or :data:`MAX_CSV_SECONDS` seconds, closing the result (the
limits are stated beside the button and in the response's ``X-DataOS-Max-*`` headers: a
CSV has no place to say it was cut).
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse

from dataos_defs.api.authz import may
from dataos_defs.api.gateway_routes import (
    PREFIX,
    caller_of,
    gateway_errors,
    gateway_or_503,
    query_history,
)
from dataos_defs.gateway.pages import MAX_PAGE_ROWS, Page
from dataos_defs.gateway.service import Caller, Gateway, QueryRequest
from dataos_defs.gateway.wire import row_encoder
from dataos_defs.web.render import render
from dataos_defs.web.route import WebRoute
from dataos_defs.web.session import CsrfIdentity, PageIdentity, read_form
from dataos_defs.web.workbench_query import SOURCE, query_in

router = APIRouter(route_class=WebRoute, include_in_schema=False)
MAX_CSV_ROWS = 1_000_000
MAX_CSV_SECONDS = 300.0
HISTORY_LIMIT = 200


@router.get("/workbench/history")
def history(
    request: Request,
    identity: PageIdentity,
    user: Annotated[str | None, Query(max_length=255)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = HISTORY_LIMIT,
) -> Response:
    records = query_history(request, identity, user or None, limit)
    context = {
        "records": records,
        "asked_user": user or "",
        "may_see_others": may(request, identity, "get", f"{PREFIX}/queries"),
    }
    return render(request, "workbench/history.html", context)


def _csv_line(values: list[Any]) -> str:
    out = io.StringIO()
    csv.writer(out).writerow(
        "" if v is None else json.dumps(v) if isinstance(v, list | dict) else v for v in values
    )
    return out.getvalue()


def _stream(gateway: Gateway, caller: Caller, first: Page) -> Iterator[str]:
    """The rows of ``first`` and the pages after it, bounded; the result is closed when the
    download ends for any reason (done, limit, or the browser going away)."""
    encode = row_encoder([t for _, t in first.columns])
    deadline = time.monotonic() + MAX_CSV_SECONDS
    page, sent = first, 0
    try:
        yield _csv_line([name for name, _ in first.columns])
        while True:
            chunk = "".join(_csv_line(encode(row)) for row in page.rows[: MAX_CSV_ROWS - sent])
            sent += len(page.rows)
            yield chunk
            if page.next_token is None or sent >= MAX_CSV_ROWS or time.monotonic() > deadline:
                return
            with gateway_errors():
                page = gateway.page(caller, page.query_id, page.next_token)
    finally:
        if page.next_token is not None:
            gateway.cancel(caller, page.query_id)


@router.post("/workbench/csv")
async def download_csv(request: Request, identity: CsrfIdentity) -> Response:
    body = query_in(await read_form(request), MAX_PAGE_ROWS)
    gateway = gateway_or_503(request)
    caller = caller_of(identity)
    query = QueryRequest(sql=body.sql, cluster=body.cluster, source=SOURCE, page_rows=MAX_PAGE_ROWS)

    def first() -> Page:
        with gateway_errors():
            return gateway.run(caller, query)

    page = await run_in_threadpool(first)
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", f"query-{page.query_id[:12]}.csv")
    return StreamingResponse(
        _stream(gateway, caller, page),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            "X-DataOS-Max-Rows": str(MAX_CSV_ROWS),
            "X-DataOS-Max-Seconds": str(int(MAX_CSV_SECONDS)),
        },
    )
