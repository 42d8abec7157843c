"""Partition values as the Gateway would show them to the caller.

``dataset partitions`` reads partition values from the manifests, and an identity partition
value *is* the column's value: a caller who is masked or filtered on the table through the
Gateway must not read them raw here (the platform's invariant: no command reaches data that
a query would refuse or mask). So the route asks the Gateway exactly as a query does
(:meth:`Gateway.explain` of ``SELECT *`` on the dataset, as the caller; its refusals are the
query's answers) and then:

* a row filter applies to the caller: 403; the counts per partition would count rows the
  caller may not see, and which partitions exist would show values of hidden rows. A
  ``GROUP BY`` query gives the filtered answer;
* a partition field whose source column is masked for the caller: an ``identity`` value is
  replaced by the mask computed on it (DuckDB evaluates the Gateway's own mask expression on
  the literal, so it equals what a query shows); any other transform, or a mask that cannot
  be computed on the value, shows :data:`MASKED`. Rows that then look alike are merged (their
  counts summed), as ``GROUP BY`` of the masked column would merge them, so the number of
  distinct raw values does not show either.

No Gateway on the server: 503 (nothing can tell what the caller may see).
"""

from __future__ import annotations

from typing import Any

import duckdb
from fastapi import Request
from pyiceberg import types as it
from pyiceberg.table import Table
from sqlglot import exp

from dataos_defs.adapters import iceberg_ops as ops
from dataos_defs.api.dataset_access import Target
from dataos_defs.api.errors import ApiError
from dataos_defs.api.gateway_routes import caller_of, gateway_errors, gateway_or_503
from dataos_defs.api.identity import Identity
from dataos_defs.gateway.masks import literal, mask_expression
from dataos_defs.gateway.model import AppliedMask, Governance, Refused
from dataos_defs.gateway.service import QueryRequest

MASKED = "<masked>"
SOURCE = "dataos-ctl dataset"
SCAN_LIMIT = 10_000
"""At most this many partitions are read to merge masked ones (more: a clear error)."""
_DUCKDB_TYPES: dict[type[it.IcebergType], str] = {
    it.StringType: "VARCHAR",
    it.IntegerType: "INTEGER",
    it.LongType: "BIGINT",
    it.FloatType: "FLOAT",
    it.DoubleType: "DOUBLE",
    it.BooleanType: "BOOLEAN",
    it.DateType: "DATE",
}


def governance(request: Request, identity: Identity, target: Target) -> Governance:
    """The data policies the Gateway applies to the caller's queries of the dataset."""
    gateway = gateway_or_503(
        request,
        f"the partition values of {target.address} cannot be checked against your data policies",
    )
    query = QueryRequest(sql=_select_all(target), source=SOURCE, page_rows=1)
    with gateway_errors():
        explained = gateway.explain(caller_of(identity), query)
    return next(iter(explained.governance.values()), Governance())


def governed_partitions(
    request: Request, identity: Identity, target: Target, table: Table, limit: int
) -> dict[str, Any]:
    """:func:`ops.partitions`, masked and refused as the caller's queries would be."""
    governed = governance(request, identity, target)
    if governed.filters:
        names = ", ".join(sorted({f.policy for f in governed.filters}))
        raise ApiError(
            403,
            "rows_filtered",
            f"rows of {target.address} are filtered for you ({names}): its partitions and "
            "their counts would include rows you may not see",
            "query it instead, e.g. dataos-ctl query with SELECT <partition column>, "
            "count(*) ... GROUP BY 1",
        )
    masked = _masked_fields(table, governed)
    if not masked:
        return ops.partitions(table, limit)
    found = ops.partitions(table, SCAN_LIMIT)
    if found["truncated"]:
        raise ApiError(
            413,
            "too_many_partitions",
            f"{target.address} has more than {SCAN_LIMIT} partitions, and some of their "
            "values are masked for you",
            "query the dataset instead (GROUP BY the masked column)",
        )
    rows = _merged([_masked_row(row, masked) for row in found["partitions"]])
    return {"spec": found["spec"], "partitions": rows[:limit], "truncated": len(rows) > limit}


def _select_all(target: Target) -> str:
    parts = (target.depot, target.collection or "", target.dataset or "")
    return "SELECT * FROM " + ".".join('"' + p.replace('"', '""') + '"' for p in parts)


def _masked_fields(table: Table, governed: Governance) -> dict[str, tuple[AppliedMask, str]]:
    """Partition field name -> (the mask of its source column, how to mask its value:
    a DuckDB type for an identity transform of a plain type, else '' for :data:`MASKED`)."""
    masks = {column.lower(): applied for column, applied in governed.masks.items()}
    schema = table.schema()
    found: dict[str, tuple[AppliedMask, str]] = {}
    for spec in table.specs().values():
        for field in spec.fields:
            source = schema.find_column_name(field.source_id)
            if source is None:
                continue
            applied = masks.get(source.lower()) or masks.get(source.split(".", 1)[0].lower())
            if applied is None:
                continue
            column = schema.find_field(field.source_id)
            kind = _DUCKDB_TYPES.get(type(column.field_type), "")
            same = str(field.transform) == "identity" and source.lower() in masks
            found[field.name] = (applied, kind if same else "")
    return found


def _masked_row(row: dict[str, Any], masked: dict[str, tuple[AppliedMask, str]]) -> dict[str, Any]:
    shown = {
        name: _masked_value(value, *masked[name]) if name in masked else value
        for name, value in row["partition"].items()
    }
    return {**row, "partition": shown}


def _masked_value(value: Any, applied: AppliedMask, duckdb_type: str) -> Any:
    """The mask evaluated on the value by DuckDB, as the Gateway's rewrite would; MASKED
    when it cannot be (not an identity value, an unknown type, a mask DuckDB refuses)."""
    if value is None or not duckdb_type or not isinstance(value, str | int | float | bool):
        return MASKED if value is not None else None
    try:
        typed = exp.cast(literal(value), duckdb_type)
        sql = mask_expression(typed, duckdb_type, applied.mask).sql("duckdb")
        with duckdb.connect() as conn:
            result = conn.execute(f"SELECT {sql}").fetchone()
    except (Refused, duckdb.Error, ValueError):
        return MASKED
    shown = result[0] if result else None
    return shown if isinstance(shown, str | int | float | bool) or shown is None else str(shown)


def _merged(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with equal (masked) partitions as one, their counts summed."""
    merged: dict[tuple[tuple[str, Any], ...], dict[str, Any]] = {}
    for row in rows:
        key = tuple(sorted((k, repr(v)) for k, v in row["partition"].items()))
        seen = merged.get(key)
        if seen is None:
            merged[key] = dict(row)
            continue
        for count in ("records", "files"):
            seen[count] = (seen.get(count) or 0) + (row.get(count) or 0)
    return list(merged.values())
