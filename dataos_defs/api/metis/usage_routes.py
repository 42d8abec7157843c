"""The usage workflow's part of the API (``metadata usage``'s bulk sink).

* ``POST|PUT /usage/table/{id}`` and ``/usage/table/name/{fqn}``: a table's count of one day
  (``UsageRequest``), needs ``update`` on the table; answered as ``EntityUsage``.
* ``POST /usage/compute.percentile/{table|database}/{date}``: ranks the entities used that
  day (a database's count is its tables' sum); needs ``update`` on ``/metis/usage/<type>``.
* ``PUT /tables/{id}/joins``: the columns a table was joined with (``TableJoins``).
* ``PUT /queries/{id}/usage``: the tables a query used (its ``queryUsedIn``); each must be a
  table the caller may read. ``PUT /queries/{id}/usedBy``: who ran it (names).
* ``POST /queryCostRecord``: a query's cost of one time (needs ``update`` on the query).

Not kept: a table's ``lifeCycle`` (the client's JSON Patch of it is refused, 400, and the
client goes on with a warning).

A table's usage is answered on ``GET /tables/...?fields=usageSummary`` (``table_extras``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import TypeAdapter, ValidationError

from dataos_defs.api.errors import ApiError
from dataos_defs.api.metis.deps import json_body
from dataos_defs.api.metis.entity_routes import GateDep, readable, validation_errors
from dataos_defs.api.metis.errors import MetisRoute, bad_request
from dataos_defs.api.metis.gate import Gate
from dataos_defs.api.metis.table_extras import readable_joins
from dataos_defs.api.metis.tag_guard import guard_of
from dataos_defs.metis import fqn, usage
from dataos_defs.metis.catalog import now_ms
from dataos_defs.metis.entities import EntityReference, Strict
from dataos_defs.metis.records import StoredEntity

router = APIRouter(route_class=MetisRoute)
MAX_REFERENCES = 1_000
MAX_USERS = 1_000
MAX_USER_CHARS = 256


class Reference(Strict):
    id: str
    type: str
    name: str | None = None
    fullyQualifiedName: str | None = None
    description: str | None = None
    displayName: str | None = None
    deleted: bool | None = None
    href: str | None = None


REFERENCES = TypeAdapter(list[Reference])
USERS = TypeAdapter(list[str])


def _parsed(adapter: TypeAdapter[Any], data: Any, what: str) -> Any:
    try:
        return adapter.validate_python(data)
    except ValidationError as exc:
        raise bad_request(f"not a valid {what}: {validation_errors(exc)}") from None


def _entity_usage(gate: Gate, stored: StoredEntity) -> dict[str, Any]:
    summary = usage.summary(gate.catalog.engine, stored.id)
    reference = EntityReference(
        id=stored.id,
        type=stored.entity_type,
        name=str(stored.body.get("name")),
        fullyQualifiedName=stored.fqn,
    )
    return {
        "entity": reference.model_dump(mode="json", exclude_none=True),
        "usage": [summary] if summary is not None else [],
    }


def _report(gate: Gate, name: str | None, id: str | None, data: Any) -> dict[str, Any]:
    wanted = _parsed(TypeAdapter(usage.UsageRequest), data, "usage request")
    stored = readable(gate, "table", name, id, "non-deleted")
    gate.require("update", "table", stored.fqn)
    try:
        usage.report(gate.catalog.engine, stored.id, "table", wanted.date, wanted.count)
    except ValueError as exc:
        raise bad_request(str(exc)) from None
    return _entity_usage(gate, stored)


@router.api_route(
    "/usage/table/name/{fqn:path}", methods=["POST", "PUT"], name="table usage by name"
)
async def report_by_name(fqn: str, request: Request, gate: GateDep) -> dict[str, Any]:
    data = await json_body(request)
    return await run_in_threadpool(_report, gate, fqn, None, data)


@router.api_route("/usage/table/{id}", methods=["POST", "PUT"], name="table usage")
async def report_by_id(id: str, request: Request, gate: GateDep) -> dict[str, Any]:
    data = await json_body(request)
    return await run_in_threadpool(_report, gate, None, id, data)


@router.post("/usage/compute.percentile/{entity_type}/{date}", name="compute usage percentiles")
def compute_percentile(entity_type: str, date: str, gate: GateDep) -> dict[str, Any]:
    if entity_type not in usage.RANKED_TYPES:
        raise bad_request(f"usage is ranked for {', '.join(usage.RANKED_TYPES)} only")
    try:
        day = dt.date.fromisoformat(date)
    except ValueError:
        raise bad_request(f"'{date}' is not a date (YYYY-MM-DD)") from None
    gate.require("update", "usage", entity_type)
    databases = _databases(gate) if entity_type == "database" else None
    ranked = usage.compute_percentiles(gate.catalog.engine, entity_type, day, databases)
    return {"entityType": entity_type, "date": day.isoformat(), "ranked": ranked}


def _databases(gate: Gate) -> dict[str, list[str]]:
    """Database id → the ids of its live tables."""
    ids = {row.fqn: row.id for row in gate.catalog.listed("database")}
    found: dict[str, list[str]] = {database: [] for database in ids.values()}
    for table in gate.catalog.listed("table"):
        database = ids.get(fqn.join(table.names[:2]))
        if database is not None:
            found[database].append(table.id)
    return found


@router.put("/tables/{id}/joins", name="table joins")
async def put_joins(id: str, request: Request, gate: GateDep) -> dict[str, Any]:
    data = await json_body(request)
    joins = _parsed(TypeAdapter(usage.TableJoins), data, "table joins")
    return await run_in_threadpool(_store_joins, gate, id, joins)


def _store_joins(gate: Gate, id: str, joins: usage.TableJoins) -> dict[str, Any]:
    stored = readable(gate, "table", None, id, "non-deleted")
    gate.require("update", "table", stored.fqn)
    usage.store_joins(gate.catalog.engine, stored.id, joins, now_ms())
    return readable_joins(gate, joins)


@router.put("/queries/{id}/usage", name="tables a query used")
async def put_query_usage(id: str, request: Request, gate: GateDep) -> dict[str, Any]:
    data = await json_body(request)
    references = _parsed(REFERENCES, data, "list of entity references")
    if len(references) > MAX_REFERENCES:
        raise bad_request(f"at most {MAX_REFERENCES} entities per request")
    return await run_in_threadpool(_query_used_in, gate, id, references)


def _query_used_in(gate: Gate, id: str, references: list[Reference]) -> dict[str, Any]:
    query = readable(gate, "query", None, id, "non-deleted")
    gate.require("update", "query", query.fqn)
    used = [_table_reference(gate, ref) for ref in references]
    known = list(query.body.get("queryUsedIn") or [])
    ids = {ref.get("id") for ref in known}
    merged = known + [ref for ref in used if ref["id"] not in ids]
    return _rewrite_query(gate, query, {"queryUsedIn": merged[:MAX_REFERENCES]})


def _table_reference(gate: Gate, ref: Reference) -> dict[str, Any]:
    if ref.type != "table":
        raise bad_request(f"a query is used in tables, not in a {ref.type}")
    stored = readable(gate, "table", None, ref.id, "non-deleted")
    found = EntityReference(
        id=stored.id, type="table", name=str(stored.body.get("name")), fullyQualifiedName=stored.fqn
    )
    answer: dict[str, Any] = found.model_dump(mode="json", exclude_none=True)
    return answer


@router.put("/queries/{id}/usedBy", name="who used a query")
async def put_query_used_by(id: str, request: Request, gate: GateDep) -> dict[str, Any]:
    data = await json_body(request)
    users: list[str] = _parsed(USERS, data, "list of user names")
    if len(users) > MAX_USERS or any(len(user) > MAX_USER_CHARS for user in users):
        raise bad_request(f"at most {MAX_USERS} names of at most {MAX_USER_CHARS} characters")
    return await run_in_threadpool(_query_used_by, gate, id, users)


def _query_used_by(gate: Gate, id: str, users: list[str]) -> dict[str, Any]:
    query = readable(gate, "query", None, id, "non-deleted")
    gate.require("update", "query", query.fqn)
    merged = list(dict.fromkeys([*(query.body.get("usedBy") or []), *users]))[:MAX_USERS]
    return _rewrite_query(gate, query, {"usedBy": merged})


@router.post("/queryCostRecord", name="query cost")
async def post_query_cost(request: Request, gate: GateDep) -> dict[str, Any]:
    data = await json_body(request)
    record = _parsed(TypeAdapter(usage.QueryCostRecord), data, "query cost record")
    return await run_in_threadpool(_store_cost, gate, record)


def _store_cost(gate: Gate, record: usage.QueryCostRecord) -> dict[str, Any]:
    query = readable(gate, "query", None, record.queryReference.id, "non-deleted")
    gate.require("update", "query", query.fqn)
    usage.store_cost(gate.catalog.engine, record)
    reference = EntityReference(
        id=query.id, type="query", name=str(query.body.get("name")), fullyQualifiedName=query.fqn
    )
    answer: dict[str, Any] = record.model_dump(mode="json", exclude_none=True)
    return {**answer, "queryReference": reference.model_dump(mode="json", exclude_none=True)}


def _rewrite_query(gate: Gate, query: StoredEntity, changes: dict[str, Any]) -> dict[str, Any]:
    try:
        written = gate.catalog.replace(
            query, {**query.body, **changes}, gate.actor, guard=guard_of(gate)
        )
    except ValueError as exc:
        raise ApiError(400, "bad_request", f"the query cannot take this: {exc}") from None
    return gate.answer(written)
