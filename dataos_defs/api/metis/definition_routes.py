"""Test-connection definitions over HTTP (``dataos_defs.metis.test_connections``):
``GET /services/testConnectionDefinitions`` (list), ``/name/{fqn}`` and ``/{id}``.

Authenticated like every Metis route, but with no Heimdall decision: a definition is a
static list of check names, the same for everyone, and names no catalog entity.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from dataos_defs.api.identity import Identity, current_identity
from dataos_defs.api.metis.errors import MetisRoute, not_found
from dataos_defs.metis import test_connections

BASE = "/services/testConnectionDefinitions"
ENTITY = "testConnectionDefinition"

router = APIRouter(route_class=MetisRoute)
Caller = Annotated[Identity, Depends(current_identity)]


@router.get(BASE, name="list test connection definitions")
def list_definitions(_: Caller) -> dict[str, Any]:
    found = test_connections.all_definitions()
    return {
        "data": [item.model_dump(mode="json", exclude_none=True) for item in found],
        "paging": {"total": len(found)},
    }


@router.get(BASE + "/name/{name:path}", name="test connection definition by name")
def by_name(name: str, _: Caller) -> dict[str, Any]:
    found = test_connections.definition(name)
    if found is None:
        raise not_found(ENTITY, name)
    return found.model_dump(mode="json", exclude_none=True)


@router.get(BASE + "/{id}", name="test connection definition")
def by_id(id: str, _: Caller) -> dict[str, Any]:
    found = test_connections.by_id(id)
    if found is None:
        raise not_found(ENTITY, id)
    return found.model_dump(mode="json", exclude_none=True)
