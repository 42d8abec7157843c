"""What a dataset page shows, gathered for the viewer from the services the API uses.

Nothing here decides access or governance on its own:

* the entity is read through Metis' gate (``entity_routes.readable``): a dataset the viewer
  may not read is a 404, exactly as for ``GET /metis/api/v1/tables/name/...``;
* the masks and filters shown are the Gateway's answer for this viewer (``Gateway.explain``
  of the sample query, the same call as ``POST /gateway/api/v1/explain``), and the sample
  rows are that query run by the Gateway as the viewer (masked, filtered and audited like
  any query, with source ``web-catalog``);
* the profile is Metis' latest, as ``GET /tables/{fqn}/tableProfile/latest`` answers the
  viewer: a column masked for the viewer shows its counts only, never its min or max;
* runs and quality checks are Caretaker's, shown only when Heimdall lets the viewer
  ``read`` the workflow writing the dataset (as ``GET /caretaker/api/v1/checks`` does).
  Run errors are never shown here (they can quote data: the Operations pages govern them).

A part that cannot be answered (no cluster serves the dataset yet, no decision) says why
instead of failing the whole page; a refusal never reveals more than the API would.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request

from dataos_defs.api.authz import may
from dataos_defs.api.gateway_routes import caller_of
from dataos_defs.api.identity import Identity
from dataos_defs.api.metis.entity_routes import readable
from dataos_defs.api.metis.gate import Gate
from dataos_defs.api.metis.table_extras import masked_columns, table_answer
from dataos_defs.caretaker import live
from dataos_defs.caretaker.checks import CheckRecord, checks_of
from dataos_defs.caretaker.records import RunRecord
from dataos_defs.gateway.clusters import RoutingError
from dataos_defs.gateway.model import Governance, Refused
from dataos_defs.gateway.service import (
    Denied,
    Gateway,
    QueryFailed,
    QueryRequest,
    Unavailable,
)
from dataos_defs.heimdall.objects import resource_object
from dataos_defs.metis import fqn as fqns
from dataos_defs.metis.access import dataset_object

SAMPLE_ROWS = 10
LAST_RUNS = 5
MAX_CHECKS = 50
SOURCE = "web-catalog"
REDACTED = "masked for you"
MAX_VALUE_CHARS = 80
GATEWAY_FAILURES = (Refused, RoutingError, Denied, Unavailable, QueryFailed)


@dataclass(frozen=True)
class ColumnView:
    name: str
    data_type: str
    description: str
    tags: tuple[str, ...]
    mask: str | None
    """The mask the Gateway applies to this column for the viewer (operator and policy)."""


@dataclass(frozen=True)
class ColumnProfileView:
    name: str
    null_percent: str
    distinct: str
    min: str | None
    max: str | None
    """None: not measured; ``REDACTED``: masked for the viewer."""


@dataclass(frozen=True)
class ProfileView:
    row_count: str
    taken_at: str
    columns: list[ColumnProfileView]


@dataclass(frozen=True)
class Sample:
    columns: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    note: str | None = None


@dataclass(frozen=True)
class DatasetView:
    fqn: str
    name: str
    description: str
    owners: list[str]
    tags: list[str]
    address: str | None
    columns: list[ColumnView]
    filters: list[str]
    governance_note: str | None
    profile: ProfileView | None
    sample: Sample
    writer: str | None
    runs: list[RunRecord]
    checks: list[CheckRecord]
    operations_note: str | None


def dataset_view(request: Request, identity: Identity, gate: Gate, table_fqn: str) -> DatasetView:
    """The page's content; raises the API's 404 when the viewer may not read the dataset."""
    stored = readable(gate, "table", table_fqn, None, "non-deleted")
    body = table_answer(gate, stored, {"profile"})
    address = dataset_object("table", fqns.split(stored.fqn), gate.depots())
    gateway: Gateway | None = getattr(request.app.state, "gateway", None)
    governance, note, sample = _governed(gateway, identity, address)
    masks = governance.masks if governance else {}
    columns = [_column(column, masks) for column in body.get("columns") or []]
    writer, runs, checks, ops_note = _operations(request, identity, address)
    return DatasetView(
        fqn=stored.fqn,
        name=str(body.get("displayName") or body.get("name")),
        description=str(body.get("description") or ""),
        owners=[_owner(owner) for owner in body.get("owners") or []],
        tags=[str(tag.get("tagFQN")) for tag in body.get("tags") or []],
        address=address,
        columns=columns,
        filters=[f.policy for f in governance.filters] if governance else [],
        governance_note=note,
        profile=profile_view(body, masked_columns(gate, stored, body.get("columns") or [])),
        sample=sample,
        writer=writer,
        runs=runs,
        checks=checks,
        operations_note=ops_note,
    )


def profile_view(body: dict[str, Any], masked: frozenset[str] | None) -> ProfileView | None:
    """The answer's profile in words; the min and max of a column masked for the viewer
    (``masked``: lower-case names, None: every column) show as :data:`REDACTED` (the
    answer holds none)."""
    table = body.get("profile")
    if not isinstance(table, dict):
        return None
    taken = dt.datetime.fromtimestamp(int(table.get("timestamp", 0)) / 1000, dt.UTC)
    columns = [
        _column_profile(
            column["profile"], masked is None or str(column.get("name")).lower() in masked
        )
        for column in body.get("columns") or []
        if isinstance(column.get("profile"), dict)
    ]
    return ProfileView(
        row_count=_number(table.get("rowCount")),
        taken_at=taken.strftime("%Y-%m-%d %H:%M UTC"),
        columns=columns,
    )


def _column_profile(profile: dict[str, Any], redacted: bool) -> ColumnProfileView:
    proportion = profile.get("nullProportion")
    null_percent = f"{float(proportion) * 100:.1f} %" if proportion is not None else ""
    return ColumnProfileView(
        name=str(profile.get("name")),
        null_percent=null_percent,
        distinct=_number(profile.get("distinctCount")),
        min=REDACTED if redacted else _value(profile.get("min")),
        max=REDACTED if redacted else _value(profile.get("max")),
    )


def _number(value: Any) -> str:
    if value is None:
        return ""
    return f"{int(value):,}" if float(value).is_integer() else f"{float(value):,.2f}"


def _value(value: Any) -> str | None:
    return None if value is None else str(value)[:MAX_VALUE_CHARS]


def _owner(owner: dict[str, Any]) -> str:
    return str(owner.get("displayName") or owner.get("name") or owner.get("fullyQualifiedName"))


def _column(column: dict[str, Any], masks: dict[str, Any]) -> ColumnView:
    name = str(column.get("name"))
    applied = next((m for key, m in masks.items() if key.lower() == name.lower()), None)
    mask = f"{applied.mask.operator} ({applied.policy})" if applied is not None else None
    return ColumnView(
        name=name,
        data_type=str(column.get("dataTypeDisplay") or column.get("dataType") or ""),
        description=str(column.get("description") or ""),
        tags=tuple(str(tag.get("tagFQN")) for tag in column.get("tags") or []),
        mask=mask,
    )


def sample_sql(address: str) -> str:
    """``SELECT * FROM "depot"."collection"."dataset" LIMIT 10`` for a dataset UDL."""
    depot, rest = address.removeprefix("dataos://").split(":", 1)
    collection, dataset = rest.split("/", 1)
    names = ".".join('"' + part.replace('"', '""') + '"' for part in (depot, collection, dataset))
    return f"SELECT * FROM {names} LIMIT {SAMPLE_ROWS}"


def _governed(
    gateway: Gateway | None, identity: Identity, address: str | None
) -> tuple[Governance | None, str | None, Sample]:
    """The Gateway's governance of the dataset for the viewer, and its sample rows."""
    if address is None:
        note = "this entity is not a dataset of a depot: the Gateway does not serve it"
        return None, note, Sample(note=note)
    if gateway is None:
        note = "the Gateway does not run on this server"
        return None, note, Sample(note=note)
    caller = caller_of(identity)
    query = QueryRequest(sql=sample_sql(address), source=SOURCE, page_rows=SAMPLE_ROWS)
    try:
        explained = gateway.explain(caller, query)
    except GATEWAY_FAILURES as exc:
        note = f"the Gateway cannot serve this dataset to you: {_reason(exc)}"
        return None, note, Sample(note=note)
    governance = next(iter(explained.governance.values()), None)
    try:
        page = gateway.run(caller, query)
    except GATEWAY_FAILURES as exc:
        return governance, None, Sample(note=f"no sample rows: {_reason(exc)}")
    if page.next_token is not None:
        gateway.cancel(caller, page.query_id)
    rows = [["" if value is None else str(value) for value in row] for row in page.rows]
    return governance, None, Sample(columns=[name for name, _ in page.columns], rows=rows)


def _reason(exc: Exception) -> str:
    return str(getattr(exc, "message", None) or exc)


def _operations(
    request: Request, identity: Identity, address: str | None
) -> tuple[str | None, list[RunRecord], list[CheckRecord], str | None]:
    """The workflow writing the dataset, its last runs and their checks of this dataset."""
    if address is None:
        return None, [], [], None
    writers = request.app.state.store.dataset_writers([address])
    key = writers.get(address)
    if key is None:
        return None, [], [], "no Resource of the platform writes this dataset"
    label = f"{key.kind} {key.name}" + (f" (workspace {key.workspace})" if key.workspace else "")
    if not may(request, identity, "read", resource_object(key.kind, key.name, key.workspace)):
        return None, [], [], "you may not read the Resource writing this dataset"
    asset = "/".join(address.removeprefix("dataos://").replace(":", "/", 1).split("/"))
    with request.app.state.store.engine.connect() as conn:
        runs = live.latest_runs(conn, LAST_RUNS, (key.workspace or "", key.kind, key.name))
        found = checks_of(conn, [run.run_id for run in runs], limit=live.MAX_ROWS)
    checks = [check for check in found if check.asset_key == asset][:MAX_CHECKS]
    return label, runs, checks, None
