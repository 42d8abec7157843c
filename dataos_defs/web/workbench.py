"""Workbench: governed SQL in the browser, through the Gateway exactly as its API runs it.

Every action calls what ``/gateway/api/v1`` calls for the same user: the cluster picker is
``list_clusters`` (the clusters the user may read) with the cluster the selectors route to
(``ClusterSet.route``, what a query naming no cluster gets); a run is ``Gateway.run`` (in
the background: :mod:`dataos_defs.web.workbench_runs`), the next page ``Gateway.page``, the
Governance tab ``explain_query`` (``dataos-ctl query --explain``: the rewritten SQL and the
policies per column). History and CSV download live in :mod:`dataos_defs.web.workbench_more`.

Cancel stops the statement on the engine: each run is given its Gateway query id up front,
so ``Gateway.cancel`` can interrupt the statement while it executes (and close the open
result once it has come), exactly as ``DELETE /gateway/api/v1/query/{id}`` does.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import OrderedDict
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from dataos_defs.api.gateway_routes import (
    caller_of,
    explain_query,
    gateway_errors,
    gateway_or_503,
    list_clusters,
)
from dataos_defs.api.identity import Identity
from dataos_defs.gateway.clusters import RoutingError
from dataos_defs.gateway.pages import Page
from dataos_defs.gateway.wire import row_encoder
from dataos_defs.web import workbench_more
from dataos_defs.web.render import render
from dataos_defs.web.route import WebRoute
from dataos_defs.web.session import CsrfIdentity, PageIdentity, read_form
from dataos_defs.web.workbench_query import (
    MAX_SQL_CHARS,
    SOURCE,
    query_in,
    query_request,
)
from dataos_defs.web.workbench_runs import WebRun, WebRuns

router = APIRouter(route_class=WebRoute, include_in_schema=False)
router.include_router(workbench_more.router)
PAGE_SIZES = (50, 200, 1000)
DEFAULT_PAGE_SIZE = 200
FIRST_WAIT_SECONDS = 0.25
"""A quick query's first page comes with the answer to the run itself (no poll)."""
MAX_TRACKED_RUNS = 4096
"""Runs whose query id is remembered for a cancel (more than can run or be kept at once)."""
_RUNS_LOCK = threading.Lock()


def web_runs(request: Request) -> WebRuns:
    state = request.app.state
    with _RUNS_LOCK:
        runs: WebRuns | None = getattr(state, "workbench_runs", None)
        if runs is None:
            runs = state.workbench_runs = WebRuns()
    return runs


def _query_ids(request: Request) -> OrderedDict[str, str]:
    """Run id -> the Gateway query id it runs (the newest :data:`MAX_TRACKED_RUNS`)."""
    state = request.app.state
    with _RUNS_LOCK:
        ids: OrderedDict[str, str] | None = getattr(state, "workbench_query_ids", None)
        if ids is None:
            ids = state.workbench_query_ids = OrderedDict()
    return ids


def _remember(request: Request, run_id: str, query_id: str) -> None:
    ids = _query_ids(request)
    with _RUNS_LOCK:
        ids[run_id] = query_id
        while len(ids) > MAX_TRACKED_RUNS:
            ids.popitem(last=False)


def _query_id_of(request: Request, run_id: str) -> str | None:
    ids = _query_ids(request)
    with _RUNS_LOCK:
        return ids.get(run_id)


def _routed(request: Request, identity: Identity) -> tuple[str | None, str | None]:
    """(the cluster a query naming none is routed to, or why none is)."""
    try:
        engine = gateway_or_503(request).clusters.route(
            user_id=identity.user_id, user_tags=identity.tags, source=SOURCE, requested=None
        )
    except RoutingError as exc:
        return None, str(exc)
    return engine.name, None


@router.get("/workbench")
def workbench(request: Request, identity: PageIdentity) -> Response:
    gateway_or_503(request)
    clusters = list_clusters(request, identity)
    routed, unrouted = _routed(request, identity)
    context = {
        "clusters": clusters,
        "routed": routed,
        "unrouted": unrouted,
        "page_sizes": PAGE_SIZES,
        "default_page_size": DEFAULT_PAGE_SIZE,
        "sql": request.query_params.get("sql", "")[:MAX_SQL_CHARS],
        "selector_json": {c.name: json.dumps(c.selector, sort_keys=True) for c in clusters},
    }
    return render(request, "workbench/editor.html", context)


def _page_size(form: dict[str, str]) -> int:
    try:
        size = int(form.get("page_size") or DEFAULT_PAGE_SIZE)
    except ValueError:
        size = DEFAULT_PAGE_SIZE
    return size if size in PAGE_SIZES else DEFAULT_PAGE_SIZE


@router.post("/workbench/run")
async def run(request: Request, identity: CsrfIdentity) -> Response:
    """Start the statement; the answer is a fragment that polls the run."""
    form = await read_form(request)
    body = query_in(form, _page_size(form))
    gateway = gateway_or_503(request)
    caller = caller_of(identity)
    query_id = uuid.uuid4().hex

    def work() -> Page:
        with gateway_errors():
            return gateway.run(caller, query_request(body), query_id=query_id)

    def close(_: str) -> object:
        return gateway.cancel(caller, query_id)

    started = web_runs(request).start(identity.user_id, work, close)
    _remember(request, started.run_id, query_id)
    await run_in_threadpool(started.ended.wait, FIRST_WAIT_SECONDS)
    return _run_fragment(request, started)


def _run_fragment(request: Request, run: WebRun) -> Response:
    if run.state == "running":
        return render(request, "workbench/running.html", {"run": run})
    if run.state == "cancelled":
        return render(request, "workbench/cancelled.html", {"run": run})
    if run.error is not None:
        error = run.error
        context = {"status": error.status, "message": error.message, "hint": error.hint}
        return render(request, "error_fragment.html", context, status_code=error.status)
    assert run.page is not None
    return results(request, run, run.page)


def results(request: Request, run: WebRun, page: Page) -> Response:
    encode = row_encoder([t for _, t in page.columns])
    rows = [[_cell(v) for v in encode(row)] for row in page.rows]
    first = page.token * len(run.page.rows) if run.page is not None else 0
    context = {
        "run": run,
        "page": page,
        "rows": rows,
        "first_row": first + 1,
        "elapsed": run.elapsed,
    }
    return render(request, "workbench/results.html", context)


def _cell(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


@router.get("/workbench/runs/{run_id}")
def poll(request: Request, run_id: str, identity: PageIdentity) -> Response:
    return _run_fragment(request, web_runs(request).get(run_id, identity.user_id))


@router.post("/workbench/runs/{run_id}/cancel")
def cancel(request: Request, run_id: str, identity: CsrfIdentity) -> Response:
    """Mark the run cancelled (only its owner: another user's id is 404) and stop its
    statement on the engine, or close its open result."""
    gateway = gateway_or_503(request)
    caller = caller_of(identity)
    cancelled = web_runs(request).cancel(
        run_id, identity.user_id, lambda query_id: gateway.cancel(caller, query_id)
    )
    query_id = _query_id_of(request, run_id)
    if query_id is not None:
        gateway.cancel(caller, query_id)
    return _run_fragment(request, cancelled)


@router.get("/workbench/runs/{run_id}/pages/{token}")
def next_page(request: Request, run_id: str, token: int, identity: PageIdentity) -> Response:
    """The next page of a run's result (``Gateway.page``: only its owner, in sequence)."""
    found = web_runs(request).get(run_id, identity.user_id)
    if found.state != "done" or found.page is None:
        return _run_fragment(request, found)
    with gateway_errors():
        page = gateway_or_503(request).page(caller_of(identity), found.page.query_id, token)
    return results(request, found, page)


@router.post("/workbench/explain")
async def explain(request: Request, identity: CsrfIdentity) -> Response:
    """The Governance tab: ``explain_query`` of the API, as ``query --explain`` prints it."""
    body = query_in(await read_form(request))
    gateway_or_503(request)
    found = await run_in_threadpool(explain_query, body, request, identity)
    by_column: dict[str, list[Any]] = {}
    for applied in found.policies:
        by_column.setdefault(f"{applied.dataset}.{applied.column or '*'}", []).append(applied)
    context = {"explained": found, "by_column": by_column}
    return render(request, "workbench/governance.html", context)
