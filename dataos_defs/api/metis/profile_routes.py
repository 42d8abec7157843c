"""The profiler's part of the API: its settings, a table's profile in and out.

* ``GET /system/settings/profilerConfiguration``: the platform-wide profiler settings. Metis
  keeps none, so the answer has no metric configuration (each workflow's own config rules).
* ``PUT /tables/{id}/tableProfile``: a profile of the table (``update`` on the table);
  answers the table with that profile, as OpenMetadata does.
* ``GET /tables/{fqn}/tableProfile/latest``: the table with its latest profile.
* ``GET /tables/{fqn}/tableProfile?startTs=&endTs=``: the table-level profiles of a period
  (row and column counts: no column values), newest first.

Reads need ``read`` on the table (else 404); value statistics of columns masked for the
reader are left out (``table_extras``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError

from dataos_defs.api.identity import Identity, current_identity
from dataos_defs.api.metis.deps import json_body
from dataos_defs.api.metis.entity_routes import GateDep, readable, validation_errors
from dataos_defs.api.metis.errors import MetisRoute, bad_request
from dataos_defs.api.metis.gate import Gate
from dataos_defs.api.metis.table_extras import table_answer
from dataos_defs.metis import profiles

router = APIRouter(route_class=MetisRoute)
PROFILER_SETTINGS = {
    "config_type": "profilerConfiguration",
    "config_value": {"metricConfiguration": []},
}
MAX_TIMESTAMP = 2**62


@router.get("/system/settings/profilerConfiguration", name="profiler settings")
def profiler_settings(_: Annotated[Identity, Depends(current_identity)]) -> dict[str, Any]:
    return PROFILER_SETTINGS


@router.put("/tables/{id}/tableProfile", name="add a table profile")
async def put_profile(id: str, request: Request, gate: GateDep) -> dict[str, Any]:
    data = await json_body(request)
    try:
        wanted = profiles.CreateTableProfile.model_validate(data)
    except ValidationError as exc:
        raise bad_request(f"not a valid table profile: {validation_errors(exc)}") from None
    return await run_in_threadpool(_store, gate, id, wanted)


def _store(gate: Gate, id: str, wanted: profiles.CreateTableProfile) -> dict[str, Any]:
    stored = readable(gate, "table", None, id, "non-deleted")
    gate.require("update", "table", stored.fqn)
    profile = profiles.store(gate.catalog.engine, stored.id, wanted)
    return table_answer(gate, stored, {"profile"}, profile)


@router.get("/tables/{fqn:path}/tableProfile/latest", name="latest table profile")
def latest_profile(fqn: str, gate: GateDep) -> dict[str, Any]:
    stored = readable(gate, "table", fqn, None, "non-deleted")
    return table_answer(gate, stored, {"profile"})


@router.get("/tables/{fqn:path}/tableProfile", name="table profiles of a period")
def profile_history(
    fqn: str,
    gate: GateDep,
    startTs: Annotated[int, Query(ge=0, le=MAX_TIMESTAMP)],
    endTs: Annotated[int, Query(ge=0, le=MAX_TIMESTAMP)],
) -> dict[str, Any]:
    if endTs < startTs:
        raise bad_request("endTs is before startTs")
    stored = readable(gate, "table", fqn, None, "non-deleted")
    found = profiles.history(gate.catalog.engine, stored.id, startTs, endTs)
    return {"data": [profile.table for profile in found], "paging": {"total": len(found)}}
