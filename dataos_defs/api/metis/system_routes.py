"""``GET /system/version``: the OpenMetadata release whose API Metis serves; and the answer
to any other path under the prefix (``unserved``), in OpenMetadata's error shape, so the
client raises its own 404 naming what Metis does not serve yet.

The client refuses a server of another major.minor than its own, so Metis reports the
release of the ingestion it is tested with. Authenticated like every Metis route; it
reveals nothing but this number, so it needs no Heimdall decision.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict

from dataos_defs.api.errors import ApiError
from dataos_defs.api.identity import Identity, current_identity
from dataos_defs.api.metis.errors import MetisRoute

OPENMETADATA_VERSION = "2.0.7"
REVISION = "dataos-metis"

router = APIRouter(route_class=MetisRoute)


class ServerVersion(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: str
    revision: str
    timestamp: int


@router.get("/system/version", name="OpenMetadata server version")
def version(_: Annotated[Identity, Depends(current_identity)]) -> ServerVersion:
    return ServerVersion(version=OPENMETADATA_VERSION, revision=REVISION, timestamp=0)


unserved_router = APIRouter(route_class=MetisRoute)


@unserved_router.api_route(
    "/{path:path}",
    methods=["GET", "PUT", "POST", "PATCH", "DELETE"],
    name="not served",
    include_in_schema=False,
)
def unserved(
    path: str, request: Request, _: Annotated[Identity, Depends(current_identity)]
) -> None:
    raise ApiError(
        404,
        "not_served",
        f"Metis does not serve {request.method} /{path}",
        "this part of the OpenMetadata API is not in Metis' subset yet",
    )
