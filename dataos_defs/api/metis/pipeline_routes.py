"""Pipeline runs: ``PUT /pipelines/{fqn}/status`` (the SDK's ``add_pipeline_status``,
answered with the pipeline) and ``GET /pipelines/{fqn}/status?startTs=&endTs=``.
Recording a run needs ``update`` on the pipeline; reading runs, ``read``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError

from dataos_defs.api.metis.deps import json_body
from dataos_defs.api.metis.entity_routes import GateDep, readable, validation_errors
from dataos_defs.api.metis.errors import MetisRoute, bad_request
from dataos_defs.api.metis.gate import Gate
from dataos_defs.metis import runs
from dataos_defs.metis.entities import PipelineStatus

router = APIRouter(route_class=MetisRoute)
Millis = Annotated[int, Query(ge=0)]


@router.put("/pipelines/{name:path}/status", name="add pipeline status")
async def add_status(request: Request, name: str, gate: GateDep) -> dict[str, Any]:
    data = await json_body(request)
    try:
        status = PipelineStatus.model_validate(data)
    except ValidationError as exc:
        raise bad_request(f"not a valid pipeline status: {validation_errors(exc)}") from None
    return await run_in_threadpool(_record, gate, name, status)


def _record(gate: Gate, name: str, status: PipelineStatus) -> dict[str, Any]:
    stored = readable(gate, "pipeline", name, None, "non-deleted")
    gate.require("update", "pipeline", stored.fqn)
    runs.record(gate.catalog.engine, stored.id, status)
    return gate.answer(stored)


@router.get("/pipelines/{name:path}/status", name="pipeline runs")
def list_status(name: str, gate: GateDep, startTs: Millis, endTs: Millis) -> dict[str, Any]:
    stored = readable(gate, "pipeline", name, None, "non-deleted")
    found = runs.between(gate.catalog.engine, stored.id, startTs, endTs)
    return {"data": found, "paging": {"total": len(found)}}
