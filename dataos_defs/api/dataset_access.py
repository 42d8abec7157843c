"""Who may do what to a lakehouse dataset, where its catalog is, and the record of changes.

A dataset is named for Heimdall by its UDL, ``dataos://<depot>:<collection>/<dataset>``, as
run admission and the Gateway name it. Every operation first asks ``read`` on it: a dataset
the caller may not read answers 404 exactly like a missing one, so nobody learns what exists
behind a denial. Then it asks the operation's own predicate (403 on a denial): ``update``
for schema and snapshot changes, ``delete`` for drop, ``write`` for restore. No decision
(a policy engine error) is 503 and nothing happens.

The depot must be an applied lakehouse depot (``type: LAKEHOUSE``/``ICEBERG``); a depot the
caller may not read as a Resource (``poros://depot/<name>``) is "not found" too. The depot's
warehouse and catalog are confined as flare and Minerva confine them (``adapters.localfs``),
and the table's metadata file must resolve inside the warehouse.

Every change that was authorized appends one JSON line to
``<DATAOS_HOME>/logs/dataset-changes.jsonl`` (platform state; rotated like the other logs):
who, when, which dataset, which operation with its arguments, and the outcome.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from pyiceberg.catalog import Catalog
from pyiceberg.table import Table

from dataos_defs.adapters import iceberg
from dataos_defs.adapters.iceberg_ops import TRASH, load
from dataos_defs.adapters.localfs import Storage, StorageError
from dataos_defs.api.authz import authorize, decide
from dataos_defs.api.errors import ApiError
from dataos_defs.api.identity import Identity
from dataos_defs.heimdall.objects import resource_object
from dataos_defs.heimdall.rotating_log import RotatingFile
from dataos_defs.manifest.depot_types import LakehouseConnection
from dataos_defs.manifest.udl import Udl
from dataos_defs.metis.tag_index import CatalogColumnTags
from dataos_defs.minerva.tags import merged_column_tags
from dataos_defs.poros.column_tags import DerivedColumnTags
from dataos_defs.poros.depots import StoreDepots
from dataos_defs.poros.store import Store
from dataos_defs.stacks.flare.datasets import catalog_place, depot_kind, table_file

READ, UPDATE, DELETE, WRITE = "read", "update", "delete", "write"
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,127}$")
_FORM = "dataos://<lakehouse depot>:<collection>/<dataset>, e.g. dataos://lakehouse:retail/city"
AUDIT_FILE = Path("logs") / "dataset-changes.jsonl"
AUDIT_ARCHIVE = Path("logs") / "dataset-changes"
_audit_lock = threading.Lock()


@dataclass(frozen=True)
class Target:
    """A lakehouse address: a depot, optionally a collection, optionally a dataset."""

    depot: str
    collection: str | None
    dataset: str | None

    @property
    def address(self) -> str:
        return Udl(self.depot, self.collection, self.dataset).address


def parse_target(text: str, *, dataset: bool) -> Target:
    """``text`` as a UDL whose names are plain (letters, digits, ``_``, ``-``): no path
    segments, no ``..``, no trash; ``dataset`` requires all three parts. 400 otherwise."""
    try:
        udl = Udl.parse(text.strip())
    except ValueError as exc:
        raise ApiError(400, "invalid_address", str(exc), _FORM) from None
    parts = [p for p in (udl.depot, udl.collection, udl.dataset) if p is not None]
    bad = next((p for p in parts if not _NAME.match(p)), None)
    if bad is not None:
        raise ApiError(
            400,
            "invalid_address",
            f"'{text}': '{bad}' is not a plain name (letters, digits, '_' and '-' only)",
            _FORM,
        )
    if udl.collection == TRASH:
        raise ApiError(
            400,
            "invalid_address",
            f"'{TRASH}' holds dropped datasets and cannot be addressed",
            "restore a dropped dataset with 'dataos-ctl dataset restore -a <its address>'",
        )
    if dataset and (udl.collection is None or udl.dataset is None):
        raise ApiError(400, "invalid_address", f"'{text}' names no dataset", _FORM)
    return Target(udl.depot, udl.collection, udl.dataset)


def not_found(address: str) -> ApiError:
    return ApiError(
        404,
        "dataset_not_found",
        f"dataset {address} was not found, or you may not read it",
        "list what you may read with 'dataos-ctl dataset list'",
    )


def check(request: Request, identity: Identity, target: Target, predicate: str) -> None:
    """``read`` (a denial is 404, like a missing dataset), then ``predicate`` (403)."""
    if not decide(request, identity, READ, target.address).allow:
        raise not_found(target.address)
    if predicate != READ:
        authorize(request, identity, predicate, target.address)


class Lakehouse:
    """A lakehouse depot's catalog, opened and confined for one request."""

    def __init__(self, depot: str, catalog: Catalog, storage: Storage, place: Any, text: str):
        self.depot = depot
        self.catalog = catalog
        self._storage = storage
        self._place = place
        self._text = text

    def table(self, target: Target) -> Table:
        """The dataset's table (404 when missing); its metadata stays in the warehouse."""
        assert target.collection is not None and target.dataset is not None
        found = load(self.catalog, target.collection, target.dataset)
        if found is None:
            raise not_found(target.address)
        try:
            table_file(self._storage, self._place, found.metadata_location, self._text)
        except StorageError as exc:
            raise refused(self.depot, exc) from None
        return found


def refused(depot: str, exc: StorageError) -> ApiError:
    return ApiError(
        409,
        "storage_refused",
        f"depot '{depot}' cannot be used: {exc}",
        "operators: keep lakehouse warehouses inside the storage roots, without links",
    )


def lakehouse(request: Request, identity: Identity, depot: str) -> Lakehouse:
    """The depot's catalog; 404 for a depot that is not applied or that the caller may not
    read, 400 for one that is not a lakehouse."""
    store: Store = request.app.state.store
    home: Path = request.app.state.home
    missing = ApiError(
        404,
        "depot_not_found",
        f"no lakehouse depot '{depot}' (it is not applied, or you may not read it)",
        "dataset operations work on LAKEHOUSE depots, e.g. dataos://lakehouse:retail/city",
    )
    try:
        found = StoreDepots(store).depot(depot)
    except LookupError:
        raise missing from None
    conn = found.depot.connection
    if depot_kind(found) != "lakehouse" or not isinstance(conn, LakehouseConnection):
        if not decide(request, identity, READ, resource_object("depot", depot, None)).allow:
            raise missing
        raise ApiError(
            400,
            "not_a_lakehouse",
            f"depot '{depot}' is a {found.depot.type} depot; dataset operations work on "
            "Iceberg tables of LAKEHOUSE depots",
            "query other depots through 'dataos-ctl query'",
        )
    try:
        storage = Storage.from_env(home)
        place = catalog_place(conn, storage)
    except StorageError as exc:
        raise refused(depot, exc) from None
    catalog = iceberg.open_catalog(conn.catalog or depot, place.warehouse, place.uri)
    return Lakehouse(depot, catalog, storage, place, conn.warehouse)


def lakehouse_depots(request: Request) -> list[str]:
    """The names of every applied lakehouse depot."""
    store: Store = request.app.state.store
    resolver = StoreDepots(store)
    names = []
    for stored in store.list("depot"):
        try:
            if depot_kind(resolver.depot(stored.name)) == "lakehouse":
                names.append(stored.name)
        except (LookupError, ValueError):
            continue
    return names


def column_tags(request: Request, target: Target) -> dict[str, tuple[str, ...]]:
    """The dataset's column tags (lower-case column -> tags) from all three sources data
    policies read: the depot manifest, tags derived by runs, and Metis."""
    store: Store = request.app.state.store
    dataset_id = f"{target.depot}.{target.collection}.{target.dataset}".lower()
    try:
        declared = StoreDepots(store).depot(target.depot).column_tags()
    except (LookupError, ValueError):
        declared = {}
    derived = DerivedColumnTags(store).all()
    catalog = CatalogColumnTags(store.engine).column_tags()
    return merged_column_tags(declared, derived, catalog).get(dataset_id, {})


def audit(
    request: Request,
    identity: Identity,
    target: Target,
    operation: str,
    details: dict[str, Any],
    outcome: str,
    message: str | None = None,
) -> None:
    """Append one change record (synchronously: the answer waits until it is written)."""
    record = {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "user": identity.user_id,
        "address": target.address,
        "operation": operation,
        "details": details,
        "outcome": outcome,
        "message": message,
    }
    with _audit_lock:
        log: RotatingFile | None = getattr(request.app.state, "dataset_audit", None)
        if log is None:
            home: Path = request.app.state.home
            log = RotatingFile(home / AUDIT_FILE, home / AUDIT_ARCHIVE)
            request.app.state.dataset_audit = log
    log.append((json.dumps(record, separators=(",", ":"), default=str) + "\n").encode())
