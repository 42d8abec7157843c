"""What every ``/poros/api/v1/datasets`` operation shares: opening the dataset's table after
the Heimdall decisions, and running a change so that it is recorded (done, refused or
failed) and the Gateway forgets its cached rewrites afterwards (a rewrite names the columns
it read; Minerva's lakehouse views follow the table's metadata by themselves)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import Request
from pyiceberg.table import Table

from dataos_defs.adapters import iceberg_ops as ops
from dataos_defs.api.dataset_access import Lakehouse, Target, audit, check, lakehouse, parse_target
from dataos_defs.api.errors import ApiError
from dataos_defs.api.identity import Identity


@contextmanager
def op_errors() -> Iterator[None]:
    """A DatasetOpError as the API's error (400, 404 or 409, with its hint)."""
    try:
        yield
    except ops.DatasetOpError as exc:
        code = {404: "not_found", 409: "conflict"}.get(exc.status, "invalid_change")
        raise ApiError(exc.status, code, exc.message, exc.hint) from None


def table_of(
    request: Request, identity: Identity, address: str, predicate: str
) -> tuple[Target, Lakehouse, Table]:
    """The dataset's table once ``read`` (404 when denied) and ``predicate`` are allowed."""
    target = parse_target(address, dataset=True)
    check(request, identity, target, predicate)
    house = lakehouse(request, identity, target.depot)
    return target, house, house.table(target)


def changed(
    request: Request,
    identity: Identity,
    target: Target,
    kind: str,
    details: dict[str, Any],
    change: Callable[[], dict[str, Any]],
) -> dict[str, Any]:
    """Run an authorized change, record it (done or refused) and forget cached rewrites."""
    try:
        with op_errors():
            result = change()
    except ApiError as exc:
        audit(request, identity, target, kind, details, "refused", exc.message)
        raise
    except Exception as exc:
        audit(request, identity, target, kind, details, "failed", type(exc).__name__)
        raise
    audit(request, identity, target, kind, details, "ok")
    forget_rewrites(request)
    return {"address": target.address, "operation": kind, **result}


def forget_rewrites(request: Request) -> None:
    """The Gateway caches rewritten statements (column lists included) per SQL text; a
    schema or snapshot change must not be answered from them."""
    gateway = getattr(request.app.state, "gateway", None)
    if gateway is not None:
        gateway.forget_rewrites()
