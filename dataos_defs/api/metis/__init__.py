"""Metis over HTTP: the OpenMetadata REST subset under ``/metis/api/v1`` (the OpenMetadata
client's ``hostPort`` is ``<server>/metis/api``; it appends ``/v1``).

Thin handlers over ``dataos_defs.metis``; every route authenticates with the platform's
API keys (the client's ``Authorization: Bearer <token>``) and asks Heimdall (``gate``).
"""

from __future__ import annotations

from fastapi import APIRouter

from dataos_defs.api.metis import (
    definition_routes,
    lineage_name_routes,
    lineage_routes,
    pipeline_routes,
    profile_routes,
    search_routes,
    system_routes,
    usage_routes,
)
from dataos_defs.api.metis.entity_routes import collections_router
from dataos_defs.api.metis.stale_routes import stale_router

PREFIX = "/metis/api/v1"

router = APIRouter(prefix=PREFIX, tags=["metis"])
router.include_router(system_routes.router)
router.include_router(definition_routes.router)
router.include_router(search_routes.router)
router.include_router(pipeline_routes.router)
router.include_router(lineage_name_routes.router)
router.include_router(lineage_routes.router)
router.include_router(profile_routes.router)
router.include_router(usage_routes.router)
router.include_router(stale_router())
router.include_router(collections_router())
router.include_router(system_routes.unserved_router)
