"""Operations on one Iceberg table, as ``dataos-ctl dataset`` exposes them.

Every function takes an opened pyiceberg catalog or table and raises :class:`DatasetOpError`
(a message and a hint) for anything the caller asked wrongly; nothing is changed then. Schema
evolution allows only safe changes: adding an optional column, renaming one, and widening a
type as the Iceberg spec allows (int to long, float to double, a decimal's precision up with
its scale kept). A soft drop moves the table into the :data:`TRASH` namespace, keeping its
files and recording where it came from in its properties, so it can be restored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pyiceberg import types as it
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import (
    CommitFailedException,
    NoSuchNamespaceError,
    NoSuchTableError,
    ValidationError,
)
from pyiceberg.table import Table

TRASH = "dataos_trash"
"""The namespace soft-dropped tables move to; it is never listed and never addressed."""
DROPPED_FROM = "dataos.dropped.address"
DROPPED_BY = "dataos.dropped.by"
DROPPED_AT = "dataos.dropped.at"

_PRIMITIVES: dict[str, it.PrimitiveType] = {
    "boolean": it.BooleanType(),
    "int": it.IntegerType(),
    "integer": it.IntegerType(),
    "long": it.LongType(),
    "bigint": it.LongType(),
    "float": it.FloatType(),
    "double": it.DoubleType(),
    "date": it.DateType(),
    "time": it.TimeType(),
    "timestamp": it.TimestampType(),
    "timestamptz": it.TimestamptzType(),
    "string": it.StringType(),
    "uuid": it.UUIDType(),
    "binary": it.BinaryType(),
}
_DECIMAL = re.compile(r"^decimal\((\d+),\s*(\d+)\)$")
_FIXED = re.compile(r"^fixed\((\d+)\)$")
TYPES_HINT = (
    "types: boolean, int, long, float, double, decimal (with -p precision, -s scale), date, "
    "time, timestamp, timestamptz, string, uuid, fixed(L), binary, map (with -k and -v)"
)
WIDENING_HINT = (
    "only widening is safe: int to long, float to double, decimal(P,S) to decimal(P2,S) with "
    "P2 > P; for any other change add a new field and copy the data with a workflow"
)


class DatasetOpError(Exception):
    """What was asked wrongly (``status`` 400) or is gone (404) or raced (409)."""

    def __init__(self, message: str, hint: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.status = status


@dataclass(frozen=True)
class TypeSpec:
    """A field type as the CLI gives it: ``-t``, ``-p``, ``-s``, ``-k``, ``-v``."""

    name: str
    precision: int | None = None
    scale: int | None = None
    key_type: str | None = None
    value_type: str | None = None


def parse_type(spec: TypeSpec) -> it.IcebergType:
    """The Iceberg type of ``spec``; raises DatasetOpError naming the known types."""
    text = spec.name.strip().lower()
    if text in _PRIMITIVES:
        return _PRIMITIVES[text]
    decimal = _DECIMAL.match(text)
    if decimal:
        return _decimal(int(decimal.group(1)), int(decimal.group(2)))
    if text == "decimal":
        if spec.precision is None:
            raise DatasetOpError("a decimal field needs a precision", "give -p 10 (and -s 2)")
        return _decimal(spec.precision, 1 if spec.scale is None else spec.scale)
    fixed = _FIXED.match(text)
    if fixed:
        return it.FixedType(int(fixed.group(1)))
    if text == "map":
        if not spec.key_type or not spec.value_type:
            raise DatasetOpError("a map field needs a key and a value type", "give -k and -v")
        key = parse_type(TypeSpec(spec.key_type))
        value = parse_type(TypeSpec(spec.value_type))
        return it.MapType(key_id=0, key_type=key, value_id=0, value_type=value)
    raise DatasetOpError(f"unknown field type '{spec.name}'", TYPES_HINT)


def _decimal(precision: int, scale: int) -> it.DecimalType:
    if not 1 <= precision <= 38 or not 0 <= scale <= precision:
        raise DatasetOpError(
            f"decimal({precision},{scale}) is not a valid decimal",
            "the precision is 1 to 38 and the scale 0 to the precision",
        )
    return it.DecimalType(precision, scale)


def load(catalog: Catalog, collection: str, dataset: str) -> Table | None:
    try:
        return catalog.load_table((collection, dataset))
    except (NoSuchTableError, NoSuchNamespaceError):
        return None


def list_datasets(catalog: Catalog, collection: str | None) -> list[tuple[str, str]]:
    """``(collection, dataset)`` of every table (of one collection), sorted; the trash is
    never listed."""
    if collection is not None:
        namespaces: list[tuple[str, ...]] = [(collection,)]
    else:
        namespaces = [n for n in catalog.list_namespaces() if n and n[0] != TRASH]
    found: list[tuple[str, str]] = []
    for namespace in namespaces:
        try:
            tables = catalog.list_tables(namespace)
        except NoSuchNamespaceError:
            continue
        found.extend((".".join(t[:-1]), t[-1]) for t in tables)
    return sorted(found)


def describe(table: Table) -> dict[str, Any]:
    """Schema, partition spec, properties and current snapshot of a table."""
    current = table.current_snapshot()
    return {
        "location": table.location(),
        "format_version": table.format_version,
        "schema_id": table.schema().schema_id,
        "fields": [
            {
                "id": f.field_id,
                "name": f.name,
                "type": str(f.field_type),
                "required": f.required,
                "doc": f.doc,
            }
            for f in table.schema().fields
        ],
        "partition_spec": partition_spec(table),
        "properties": dict(table.properties),
        "current_snapshot_id": current.snapshot_id if current else None,
    }


def partition_spec(table: Table) -> list[dict[str, Any]]:
    schema = table.schema()
    return [
        {
            "name": f.name,
            "transform": str(f.transform),
            "column": schema.find_column_name(f.source_id),
            "field_id": f.field_id,
        }
        for f in table.spec().fields
    ]


def snapshots(table: Table) -> list[dict[str, Any]]:
    current = table.current_snapshot()
    current_id = current.snapshot_id if current else None
    return [
        {
            "id": s.snapshot_id,
            "parent_id": s.parent_snapshot_id,
            "timestamp_ms": s.timestamp_ms,
            "time": datetime.fromtimestamp(s.timestamp_ms / 1000, UTC).isoformat(
                timespec="seconds"
            ),
            "operation": s.summary.operation.value if s.summary else None,
            "current": s.snapshot_id == current_id,
        }
        for s in sorted(table.snapshots(), key=lambda s: s.timestamp_ms)
    ]


def partitions(table: Table, limit: int) -> dict[str, Any]:
    """The spec and, for at most ``limit`` partitions of the current snapshot, their record
    and file counts (read from the manifests, not the data)."""
    rows: list[dict[str, Any]] = []
    if table.current_snapshot() is not None:
        found = table.inspect.partitions().to_pylist()
        for row in found[:limit]:
            rows.append(
                {
                    "partition": {k: _plain(v) for k, v in (row.get("partition") or {}).items()},
                    "records": row.get("record_count"),
                    "files": row.get("file_count"),
                }
            )
        truncated = len(found) > limit
    else:
        truncated = False
    return {"spec": partition_spec(table), "partitions": rows, "truncated": truncated}


def _plain(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool) or value is None else str(value)


def add_field(table: Table, name: str, kind: it.IcebergType) -> None:
    """Add an optional field; ``a.b`` adds ``b`` inside the struct ``a``."""
    path = tuple(name.split("."))
    if find_field(table, name) is not None:
        raise DatasetOpError(f"field '{name}' already exists", "choose another name")
    commit_change(lambda: evolve_schema(table, lambda u: u.add_column(path, kind)))


def rename_field(table: Table, name: str, new_name: str) -> None:
    require_field(table, name)
    if "." in new_name:
        raise DatasetOpError(
            "the new name is a name, not a path", "give only the last part, e.g. -m zip"
        )
    parent = name.rsplit(".", 1)[0] + "." if "." in name else ""
    if find_field(table, parent + new_name) is not None:
        raise DatasetOpError(f"field '{parent + new_name}' already exists", "choose another name")
    commit_change(lambda: evolve_schema(table, lambda u: u.rename_column(name, new_name)))


def update_field(table: Table, name: str, kind: it.IcebergType) -> str:
    """Widen a field's type; returns the old type. Anything but a widening is refused."""
    field = require_field(table, name)
    old = field.field_type
    if old == kind:
        raise DatasetOpError(f"field '{name}' is already {old}", "nothing to change")
    if not _widens(old, kind):
        raise DatasetOpError(f"changing '{name}' from {old} to {kind} is not safe", WIDENING_HINT)
    commit_change(lambda: evolve_schema(table, lambda u: u.update_column(name, field_type=kind)))
    return str(old)


def decimal_scale(table: Table, name: str) -> int | None:
    """The scale of a decimal field (a widened decimal keeps it when none is given)."""
    field = find_field(table, name)
    kind = field.field_type if field is not None else None
    return kind.scale if isinstance(kind, it.DecimalType) else None


def _widens(old: it.IcebergType, new: it.IcebergType) -> bool:
    if isinstance(old, it.IntegerType):
        return isinstance(new, it.LongType)
    if isinstance(old, it.FloatType):
        return isinstance(new, it.DoubleType)
    if isinstance(old, it.DecimalType) and isinstance(new, it.DecimalType):
        return new.scale == old.scale and new.precision > old.precision
    return False


def set_snapshot(table: Table, snapshot_id: int, *, rollback: bool) -> int | None:
    """Make ``snapshot_id`` current; returns the previous current id. ``rollback`` also
    requires it to be an ancestor of the current snapshot (undo, never redo)."""
    if table.snapshot_by_id(snapshot_id) is None:
        raise DatasetOpError(
            f"the dataset has no snapshot {snapshot_id}",
            "list them with 'dataos-ctl dataset snapshots -a <udl>'",
            404,
        )
    current = table.current_snapshot()
    previous = current.snapshot_id if current else None
    if previous == snapshot_id:
        raise DatasetOpError(f"snapshot {snapshot_id} is already current", "nothing to change")
    manage = table.manage_snapshots()

    def apply() -> None:
        try:
            if rollback:
                manage.rollback_to_snapshot(snapshot_id).commit()
            else:
                manage.set_current_snapshot(snapshot_id).commit()
        except ValueError as exc:
            raise DatasetOpError(
                f"cannot roll back to {snapshot_id}: {exc}",
                "rollback goes back to an ancestor of the current snapshot; "
                "use set-snapshot to move to any snapshot",
            ) from None

    commit_change(apply)
    return previous


def soft_drop(
    catalog: Catalog, collection: str, dataset: str, address: str, by: str, now: datetime
) -> str:
    """Move the table to the trash (files kept); returns its name there."""
    table = catalog.load_table((collection, dataset))
    stamp = now.strftime("%Y%m%dT%H%M%S%fZ")
    trashed = f"{collection}__{dataset}__{stamp}"
    with table.transaction() as txn:
        txn.set_properties(
            {DROPPED_FROM: address, DROPPED_BY: by, DROPPED_AT: now.isoformat(timespec="seconds")}
        )
    with_namespace(catalog, TRASH)
    catalog.rename_table((collection, dataset), (TRASH, trashed))
    return f"{TRASH}.{trashed}"


def restore(catalog: Catalog, collection: str, dataset: str, address: str) -> str:
    """Move the newest soft-dropped table of ``address`` back; returns its trash name."""
    if load(catalog, collection, dataset) is not None:
        raise DatasetOpError(
            f"{address} exists", "drop or rename it before restoring the dropped one", 409
        )
    dropped = [t for t in _trash(catalog) if t[1] == address]
    if not dropped:
        raise DatasetOpError(f"no dropped dataset {address} to restore", None, 404)
    name = max(dropped)[2]
    table = catalog.load_table((TRASH, name))
    with table.transaction() as txn:
        txn.remove_properties(DROPPED_FROM, DROPPED_BY, DROPPED_AT)
    with_namespace(catalog, collection)
    catalog.rename_table((TRASH, name), (collection, dataset))
    return f"{TRASH}.{name}"


def _trash(catalog: Catalog) -> list[tuple[str, str, str]]:
    """``(dropped at, address, name)`` of every table in the trash."""
    found = []
    for ident in list_datasets(catalog, TRASH):
        props = catalog.load_table((TRASH, ident[1])).properties
        found.append((props.get(DROPPED_AT, ""), props.get(DROPPED_FROM, ""), ident[1]))
    return found


def with_namespace(catalog: Catalog, namespace: str) -> None:
    if (namespace,) not in catalog.list_namespaces():
        catalog.create_namespace(namespace)


def purge(catalog: Catalog, collection: str, dataset: str) -> None:
    """Drop the table and delete its files: final."""
    catalog.purge_table((collection, dataset))


def find_field(table: Table, name: str) -> it.NestedField | None:
    try:
        return table.schema().find_field(name)
    except ValueError:
        return None


def require_field(table: Table, name: str) -> it.NestedField:
    field = find_field(table, name)
    if field is None:
        known = ", ".join(f.name for f in table.schema().fields)
        raise DatasetOpError(f"the dataset has no field '{name}'", f"its fields: {known}")
    return field


def evolve_schema(table: Table, change: Any) -> None:
    try:
        with table.update_schema() as update:
            change(update)
    except (ValidationError, ValueError) as exc:
        raise DatasetOpError(str(exc), "check the field names with 'dataset get'") from None


def commit_change(action: Any) -> None:
    try:
        action()
    except CommitFailedException as exc:
        raise DatasetOpError(
            f"the dataset changed while this change was made: {exc}",
            "retry: someone else committed first",
            409,
        ) from None
