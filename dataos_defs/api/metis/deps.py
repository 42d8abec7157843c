"""What every Metis route needs: the catalog, a bounded JSON body, and the gate."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from dataos_defs.api.errors import ApiError
from dataos_defs.metis.catalog import Catalog
from dataos_defs.metis.scanner import ensure_scanner_user
from dataos_defs.poros.identities import Identities
from dataos_defs.poros.store import Store

MAX_BODY_BYTES = 16 * 1024 * 1024
"""A bulk of 100 wide tables fits; anything larger is refused before it is parsed."""
MAX_BULK = 100


def open_catalog(store: Store, identities: Identities) -> Catalog:
    """Metis' catalog in the platform's store, migrated (its own alembic history), with the
    scanner's application user ``metis``: called once when the API server starts."""
    catalog = Catalog.open(store)
    ensure_scanner_user(identities)
    return catalog


def catalog_of(request: Request) -> Catalog:
    """The catalog the API server opened at start-up (:func:`open_catalog`)."""
    catalog: Catalog = request.app.state.metis_catalog
    return catalog


async def json_body(request: Request) -> Any:
    """The request's JSON, refused over :data:`MAX_BODY_BYTES` (413) or malformed (400)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _too_large()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _too_large()
        chunks.append(chunk)
    try:
        return json.loads(b"".join(chunks))
    except (ValueError, RecursionError):
        raise ApiError(400, "bad_request", "the request body is not valid JSON") from None


def _too_large() -> ApiError:
    return ApiError(
        413,
        "payload_too_large",
        f"the request body is over {MAX_BODY_BYTES} bytes",
        f"send at most {MAX_BULK} entities per bulk request",
    )
