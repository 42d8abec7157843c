"""The pager delivery log over HTTP, for operators.

Heimdall decides ``get`` on the route's path (``/monitor/api/v1/deliveries``); only the
system operator policy allows it out of the box. The log holds no secret (hosts, not
URLs; scrubbed errors), and the answer is the log's records as written.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from dataos_defs.api.authz import authorize
from dataos_defs.api.identity import Identity, current_identity
from dataos_defs.monitor.deliveries_log import DELIVERY_LOG_FILE, MAX_READ, read_deliveries

router = APIRouter(prefix="/monitor/api/v1", tags=["monitor"])
IdentityDep = Annotated[Identity, Depends(current_identity)]


@router.get("/deliveries", summary="Pager delivery attempts, newest last")
def deliveries(
    request: Request,
    caller: IdentityDep,
    pager: Annotated[
        str | None, Query(max_length=300, description="<workspace>/<pager name>")
    ] = None,
    incident: Annotated[str | None, Query(max_length=200, description="incident id")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_READ)] = 100,
) -> dict[str, list[dict[str, object]]]:
    """The newest ``limit`` delivery attempts matching the filters, oldest first."""
    authorize(request, caller, "get", request.url.path)
    live = request.app.state.home / DELIVERY_LOG_FILE
    return {"items": read_deliveries(live, pager, incident, limit)}
