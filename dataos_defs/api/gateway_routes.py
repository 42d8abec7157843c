"""The Gateway's JSON API: governed queries with paging, explain, the caller's audit trail.

Errors keep the API's one shape: a refused statement is 400 ``query_refused`` (with what was
refused and why), a dataset the caller may not read is 403 naming it, no access decision is
503 and deny, an engine error on the governed statement is 400 ``query_failed``, a query
cancelled while it executed is 409 ``query_cancelled``.

``DELETE /query/{id}`` stops the statement on the engine while it executes (``Gateway.cancel``)
and closes its open result after; only the query's owner may, or a caller Heimdall lets
``delete`` ``/gateway/api/v1/queries`` (an operator): another user's id answers 404 like an
unknown one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from dataos_defs.api.authz import authorize, may
from dataos_defs.api.errors import ApiError
from dataos_defs.api.identity import Identity, current_identity
from dataos_defs.gateway.clusters import RoutingError
from dataos_defs.gateway.model import Refused
from dataos_defs.gateway.pages import DEFAULT_PAGE_ROWS, MAX_PAGE_ROWS, Page, PageError
from dataos_defs.gateway.running import TooManyRunning
from dataos_defs.gateway.service import (
    Caller,
    Cancelled,
    Denied,
    Explanation,
    Gateway,
    QueryFailed,
    QueryRequest,
    Unavailable,
)
from dataos_defs.gateway.wire import row_encoder
from dataos_defs.heimdall.objects import resource_object
from dataos_defs.manifest.cluster import Cluster
from dataos_defs.minerva.catalogs import CatalogError, deployment, render_properties

PREFIX = "/gateway/api/v1"
router = APIRouter(prefix=PREFIX, tags=["gateway"])
IdentityDep = Annotated[Identity, Depends(current_identity)]


def gateway_of(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


def gateway_or_503(request: Request, consequence: str | None = None) -> Gateway:
    """The server's Gateway; 503 ``no_gateway`` (saying what cannot be done without it)
    when this server runs none."""
    gateway: Gateway | None = getattr(request.app.state, "gateway", None)
    if gateway is None:
        raise ApiError(
            503,
            "no_gateway",
            "this server runs no Gateway" + (f": {consequence}" if consequence else ""),
            "run the API server with the Gateway (DATAOS_SERVICES includes gateway; "
            "'make up' does)",
        )
    return gateway


def caller_of(identity: Identity) -> Caller:
    return Caller(identity.user_id, tuple(identity.tags))


@contextmanager
def gateway_errors() -> Iterator[None]:
    """The gateway's exceptions as API errors."""
    try:
        yield
    except Refused as exc:
        raise ApiError(400, exc.code or "query_refused", exc.message, exc.hint) from exc
    except RoutingError as exc:
        raise ApiError(400, "no_cluster", str(exc), getattr(exc, "hint", None)) from exc
    except Denied as exc:
        raise ApiError(403, "forbidden", exc.message, exc.hint) from exc
    except Unavailable as exc:
        raise ApiError(
            503, "policy_engine_unavailable", str(exc), "retry later; operators: check Heimdall"
        ) from exc
    except QueryFailed as exc:
        raise ApiError(
            400, "query_failed", str(exc), "check the statement against the datasets"
        ) from exc
    except PageError as exc:
        raise ApiError(404, "no_such_result", str(exc), "run the query again") from exc
    except Cancelled as exc:
        raise ApiError(409, "query_cancelled", str(exc), "run the query again") from exc
    except TooManyRunning as exc:
        raise ApiError(
            429, "too_many_queries", str(exc), "wait for a query to finish, or cancel one"
        ) from exc


def may_cancel_any(request: Request, identity: Identity) -> bool:
    """Whether the caller may cancel anyone's query (an operator's right, Heimdall's call)."""
    return may(request, identity, "delete", f"{PREFIX}/queries")


def cancel_for(request: Request, identity: Identity, query_id: str) -> bool:
    """``Gateway.cancel`` as the caller: their own query, or anyone's when allowed."""
    gateway = gateway_of(request)
    caller = caller_of(identity)
    if gateway.cancel(caller, query_id):
        return True
    owner = gateway.running.owner(query_id)
    if owner is None or not may_cancel_any(request, identity):
        return False
    return gateway.cancel(caller, query_id, operator=True)


class QueryIn(BaseModel):
    sql: str = Field(min_length=1, description="Trino SQL: SELECT, WITH, SHOW, DESCRIBE, EXPLAIN")
    cluster: str | None = Field(default=None, description="a cluster name; default: routed")
    catalog: str | None = Field(default=None, description="default catalog (depot)")
    schema_: str | None = Field(default=None, alias="schema", description="default schema")
    pageSize: int = Field(default=DEFAULT_PAGE_ROWS, ge=1, le=MAX_PAGE_ROWS)


class ColumnOut(BaseModel):
    name: str
    type: str


class PageOut(BaseModel):
    queryId: str
    cluster: str | None
    columns: list[ColumnOut]
    rows: list[list[Any]]
    page: int
    nextPage: int | None = Field(description="GET .../query/{queryId}?page=<nextPage> for more")


def page_out(page: Page) -> PageOut:
    encode: Callable[[Any], list[Any]] = row_encoder([t for _, t in page.columns])
    return PageOut(
        queryId=page.query_id,
        cluster=page.cluster,
        columns=[ColumnOut(name=n, type=t) for n, t in page.columns],
        rows=[encode(row) for row in page.rows],
        page=page.token,
        nextPage=page.next_token,
    )


def _request(body: QueryIn, source: str) -> QueryRequest:
    return QueryRequest(
        sql=body.sql,
        cluster=body.cluster,
        catalog=body.catalog,
        schema=body.schema_,
        source=source,
        page_rows=body.pageSize,
    )


@router.post("/query", response_model=PageOut)
def run_query(body: QueryIn, request: Request, identity: IdentityDep) -> PageOut:
    """Run a governed query; the first page of rows comes back at once."""
    source = request.headers.get("x-dataos-source", "gateway-api")
    with gateway_errors():
        page = gateway_of(request).run(caller_of(identity), _request(body, source))
    return page_out(page)


@router.get("/query/{query_id}", response_model=PageOut)
def next_page(
    query_id: str,
    request: Request,
    identity: IdentityDep,
    page: Annotated[int, Query(ge=0)],
) -> PageOut:
    with gateway_errors():
        served = gateway_of(request).page(caller_of(identity), query_id, page)
    return page_out(served)


@router.delete("/query/{query_id}", status_code=204)
def cancel_query(query_id: str, request: Request, identity: IdentityDep) -> Response:
    if not cancel_for(request, identity, query_id[:64]):
        raise ApiError(404, "no_such_result", f"no query {query_id[:64]} of yours runs")
    return Response(status_code=204)


class AppliedOut(BaseModel):
    dataset: str
    policy: str
    kind: str = Field(description="mask, filter or pass_through")
    column: str | None = None
    operator: str | None = None
    priority: int | None = None


class ExplainOut(BaseModel):
    cluster: str
    kind: str
    sql: str = Field(description="the statement as the engine runs it")
    datasets: list[str]
    policies: list[AppliedOut]


def explain_out(found: Explanation) -> ExplainOut:
    applied: list[AppliedOut] = []
    for dataset, governance in sorted(found.governance.items()):
        for column, mask in sorted(governance.masks.items()):
            applied.append(
                AppliedOut(
                    dataset=dataset,
                    policy=mask.policy,
                    kind="mask",
                    column=column,
                    operator=mask.mask.operator,
                    priority=mask.priority,
                )
            )
        applied += [
            AppliedOut(dataset=dataset, policy=f.policy, kind="filter") for f in governance.filters
        ]
        applied += [
            AppliedOut(dataset=dataset, policy=name, kind="pass_through")
            for name in governance.exempted
        ]
    rewritten = found.rewritten
    return ExplainOut(
        cluster=found.cluster,
        kind=rewritten.kind,
        sql=rewritten.sql,
        datasets=[t.dataset_id for t in rewritten.tables],
        policies=applied,
    )


@router.post("/explain", response_model=ExplainOut)
def explain_query(body: QueryIn, request: Request, identity: IdentityDep) -> ExplainOut:
    """The statement as the gateway would run it for the caller, and the policies applied."""
    with gateway_errors():
        found = gateway_of(request).explain(caller_of(identity), _request(body, "gateway-api"))
    return explain_out(found)


@router.get("/queries")
def query_history(
    request: Request,
    identity: IdentityDep,
    user: str | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> list[dict[str, object]]:
    """The audit trail: the caller's own queries; anyone's for whom may ``get`` this path."""
    wanted = user or identity.user_id
    if wanted != identity.user_id or user is None:
        if may(request, identity, "get", f"{PREFIX}/queries"):
            return gateway_of(request).audit.read(user=user, limit=limit)
        if wanted != identity.user_id:
            raise ApiError(
                403, "forbidden", f"{identity.user_id} may not read the queries of {wanted}"
            )
    return gateway_of(request).audit.read(user=identity.user_id, limit=limit)


class RunningOut(BaseModel):
    queryId: str
    user: str
    cluster: str | None
    source: str | None
    started: float = Field(description="epoch seconds")
    cancelling: bool = Field(description="a cancel was asked for: the engine is stopping it")


@router.get("/queries/running", response_model=list[RunningOut])
def running_queries(request: Request, identity: IdentityDep) -> list[RunningOut]:
    """The statements executing now: the caller's own; everyone's for whom may ``get``
    ``/gateway/api/v1/queries`` (an operator), as the audit trail."""
    everyone = may(request, identity, "get", f"{PREFIX}/queries")
    found = gateway_of(request).running_queries(None if everyone else identity.user_id)
    return [
        RunningOut(
            queryId=q.query_id,
            user=q.user,
            cluster=q.cluster,
            source=q.source,
            started=q.started,
            cancelling=q.cancelling,
        )
        for q in found
    ]


class ClusterOut(BaseModel):
    name: str
    workspace: str | None
    type: str
    engine: str = Field(description="duckdb (embedded) or trino (an endpoint)")
    depots: list[str]
    selector: dict[str, Any] | None


class CatalogsOut(BaseModel):
    cluster: str
    catalogs: dict[str, str] = Field(description="catalog name -> its .properties file")
    secrets: list[dict[str, str]] = Field(description="env variable -> secret name and key")


def _cluster_out(cluster: Cluster, workspace: str | None, engine: str) -> ClusterOut:
    minerva = cluster.cluster.minerva
    selector = minerva.selector if minerva else None
    return ClusterOut(
        name=cluster.name,
        workspace=workspace,
        type=cluster.cluster.type,
        engine=engine,
        depots=sorted({udl.depot for udl, _ in cluster.depot_addresses()}),
        selector=selector.model_dump(exclude_none=True) if selector else None,
    )


def _readable(request: Request, identity: Identity) -> list[tuple[Cluster, str | None, str]]:
    """(cluster, workspace, engine) of every cluster the caller may read."""
    gateway = gateway_of(request)
    gateway.refresh()
    return [
        (cluster, workspace, engine)
        for cluster, workspace, engine in gateway.clusters.described()
        if may(request, identity, "read", resource_object("cluster", cluster.name, workspace))
    ]


@router.get("/clusters", response_model=list[ClusterOut])
def list_clusters(request: Request, identity: IdentityDep) -> list[ClusterOut]:
    """The clusters the caller may read, with their engine and selector."""
    return [_cluster_out(*found) for found in _readable(request, identity)]


@router.get("/clusters/{name}/catalogs", response_model=CatalogsOut)
def cluster_catalogs(name: str, request: Request, identity: IdentityDep) -> CatalogsOut:
    """Trino catalog files for deploying the cluster on Trino (credentials as env refs).
    They describe each attached depot's connection, so they need ``read`` on every depot
    too: nothing ``get -t depot`` would refuse the caller."""
    cluster = next((c for c, _, _ in _readable(request, identity) if c.name == name), None)
    if cluster is None:
        raise ApiError(404, "not_found", f"no cluster '{name}' you may read")
    for depot in sorted({udl.depot for udl, _ in cluster.depot_addresses()}):
        authorize(request, identity, "read", resource_object("depot", depot, None))
    try:
        catalogs, secrets = deployment(cluster, gateway_of(request).clusters.depots())
    except CatalogError as exc:
        raise ApiError(422, "catalog_error", str(exc)) from exc
    return CatalogsOut(
        cluster=name,
        catalogs={n: render_properties(p) for n, p in catalogs.items()},
        secrets=[{"env": s.env, "secret": s.secret, "key": s.key} for s in secrets],
    )
