"""More operations on one Iceberg table for ``dataos-ctl dataset``: dropping a field, making
one optional, table properties, the partition spec and the metadata history.

As in :mod:`dataos_defs.adapters.iceberg_ops`, a wrong request raises
:class:`~dataos_defs.adapters.iceberg_ops.DatasetOpError` and changes nothing. The rules
that keep these changes safe:

- a field that a partition spec (current or past) reads, or that identifies rows, is never
  dropped: old manifests name it and readers would fail on them;
- only required → optional is allowed: the reverse would make data already written invalid;
- table properties that steer where files go, which code pyiceberg loads (``py-io-impl``,
  ``write.py-location-provider.impl``), how file columns map to fields (name mapping), the
  format version, FileIO credentials and our own ``dataos.*`` records are refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from pyiceberg.table import Table

from dataos_defs.adapters.iceberg import PartitionField
from dataos_defs.adapters.iceberg_ops import (
    DatasetOpError,
    commit_change,
    evolve_schema,
    require_field,
)

MAX_PROPERTIES = 64
MAX_KEY = 128
MAX_VALUE = 1024
MAX_PARTITION_FIELDS = 16
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
RESERVED_PREFIXES = (
    "dataos.",
    "py-",
    "write.py-",
    "write.data.path",
    "write.metadata.path",
    "write.folder-storage.",
    "write.object-storage.",
    "write.location-provider.",
    "schema.name-mapping.",
    "format-version",
    "location",
    "warehouse",
    "uri",
    "s3.",
    "gcs.",
    "adls.",
    "hdfs.",
    "oss.",
    "hf.",
    "client.",
    "pyarrow.",
)
"""Property keys nobody sets through ``add-properties``/``remove-properties``: they choose
file locations, code to load, FileIO credentials, the column mapping or the format."""
PROPERTIES_HINT = (
    "properties tune the table (e.g. write.format.default, write.parquet.compression-codec, "
    "commit.retry.num-retries) or describe it (owner, comment); locations, FileIO, code "
    "loading, name mapping, format-version and dataos.* are refused"
)
TRANSFORMS = ("identity", "year", "month", "day", "hour", "bucket", "truncate")
PARTITION_HINT = (
    "give -p TRANSFORM:COLUMN[:NAME[:N]], e.g. identity:state_name, month:ts:ts_month, "
    "bucket:city_id:city_bucket:16 (transforms: " + ", ".join(TRANSFORMS) + ")"
)


def drop_field(table: Table, name: str) -> str:
    """Drop a field (``a.b``: inside the struct ``a``); returns its type. Refused for a
    partition source or an identifier field."""
    field = require_field(table, name)
    schema = table.schema()
    if field.field_id in schema.identifier_field_ids:
        raise DatasetOpError(
            f"field '{name}' identifies the dataset's rows (an identifier field)",
            "identifier fields are kept; drop another field",
        )
    inside = {field.field_id} | _children(field)
    for spec in table.specs().values():
        used = [p.name for p in spec.fields if p.source_id in inside]
        if used:
            raise DatasetOpError(
                f"field '{name}' is the source of partition field(s) {', '.join(used)}; "
                "files written with that spec need it",
                "partition sources are kept: stop partitioning by it with 'dataset "
                "update-partition' and leave the field, or drop another field",
            )
    if len(schema.fields) == 1 and "." not in name:
        raise DatasetOpError(f"'{name}' is the dataset's only field", "add another field first")
    commit_change(lambda: evolve_schema(table, lambda u: u.delete_column(name)))
    return str(field.field_type)


def _children(field: Any) -> set[int]:
    """The ids of every field nested in ``field`` (struct fields, list elements, map keys
    and values)."""
    found: set[int] = set()
    kind = field.field_type
    for child in getattr(kind, "fields", ()):
        found |= {child.field_id} | _children(child)
    for attr in ("element_field", "key_field", "value_field"):
        child = getattr(kind, attr, None)
        if child is not None:
            found |= {child.field_id} | _children(child)
    return found


def set_nullable(table: Table, name: str, nullable: bool) -> None:
    """Make a required field optional. Making one required is refused: Iceberg cannot
    prove that the data already written has no nulls."""
    field = require_field(table, name)
    if not nullable:
        raise DatasetOpError(
            f"making '{name}' required is not safe: rows already written may hold nulls",
            "only -b true (required to optional) is allowed; to require values, write a new "
            "dataset with a required field through a workflow",
        )
    if not field.required:
        raise DatasetOpError(f"field '{name}' is already nullable", "nothing to change")
    commit_change(lambda: evolve_schema(table, lambda u: u.make_column_optional(name)))


def parse_properties(pairs: Sequence[str]) -> dict[str, str]:
    """``name:value`` pairs (the value may hold ``:``) as a dict; each key checked."""
    _bounded(pairs, "properties")
    found: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition(":")
        key, value = key.strip(), value.strip()
        if not sep or not key:
            raise DatasetOpError(f"'{pair}' is not NAME:VALUE", "e.g. -p write.format.default:orc")
        if len(value) > MAX_VALUE:
            raise DatasetOpError(
                f"the value of '{key}' is longer than {MAX_VALUE} characters", "shorten it"
            )
        found[check_key(key)] = value
    return found


def check_key(key: str) -> str:
    if len(key) > MAX_KEY or not _KEY.match(key):
        raise DatasetOpError(
            f"'{key[:MAX_KEY]}' is not a property name",
            f"letters, digits, '.', '_' and '-', at most {MAX_KEY} characters",
        )
    lowered = key.lower()
    if any(lowered.startswith(prefix) for prefix in RESERVED_PREFIXES):
        raise DatasetOpError(f"property '{key}' cannot be changed here", PROPERTIES_HINT)
    return key


def _bounded(items: Sequence[Any], what: str) -> None:
    if not items:
        raise DatasetOpError(f"no {what} given", "give -p at least once")
    if len(items) > MAX_PROPERTIES:
        raise DatasetOpError(f"more than {MAX_PROPERTIES} {what} at once", "split the change")


def add_properties(table: Table, values: Mapping[str, str]) -> None:
    commit_change(lambda: _transact(table, lambda t: t.set_properties(dict(values))))


def remove_properties(table: Table, keys: Sequence[str]) -> None:
    _bounded(keys, "properties")
    checked = [check_key(key.strip()) for key in keys]
    missing = [key for key in checked if key not in table.properties]
    if missing:
        raise DatasetOpError(
            f"the dataset has no property {', '.join(missing)}",
            "list them with 'dataset properties'",
        )
    commit_change(lambda: _transact(table, lambda t: t.remove_properties(*checked)))


def _transact(table: Table, change: Any) -> None:
    with table.transaction() as txn:
        change(txn)


def parse_partitions(specs: Sequence[str], count: int | None) -> list[PartitionField]:
    """DataOS' ``-p`` forms: ``identity:col``, ``year|month|day|hour:col[:name]``,
    ``bucket|truncate:col[:name[:N]]`` (``N`` defaults to ``--count``)."""
    if len(specs) > MAX_PARTITION_FIELDS:
        raise DatasetOpError(
            f"more than {MAX_PARTITION_FIELDS} partition fields", "partition by fewer columns"
        )
    found = []
    for text in specs:
        parts = [p.strip() for p in text.split(":")]
        if len(parts) < 2 or len(parts) > 4 or not all(parts[:2]):
            raise DatasetOpError(f"'{text}' is not a partition", PARTITION_HINT)
        transform, column = parts[0].lower(), parts[1]
        if transform not in TRANSFORMS:
            raise DatasetOpError(f"unknown partition transform '{parts[0]}'", PARTITION_HINT)
        name = parts[2] if len(parts) > 2 and parts[2] else None
        number = _number(parts[3], text) if len(parts) == 4 else count
        if transform in ("bucket", "truncate") and (number is None or number < 1):
            raise DatasetOpError(f"'{text}': {transform} needs a positive number", PARTITION_HINT)
        parameter = number if transform in ("bucket", "truncate") else None
        found.append(PartitionField(transform, column, name, parameter))
    return found


def _number(text: str, whole: str) -> int:
    if not text.isdigit():
        raise DatasetOpError(f"'{whole}': '{text}' is not a number", PARTITION_HINT)
    return int(text)


def update_partition(table: Table, wanted: Sequence[PartitionField]) -> list[str]:
    """Make ``wanted`` the partition spec of data written from now on (fields already there
    are kept, the others removed or added); returns the new spec's field names."""
    for field in wanted:
        require_field(table, field.column)
    schema = table.schema()
    current = {(p.source_id, str(p.transform)): p.name for p in table.spec().fields}
    keyed = {}
    for field in wanted:
        try:
            transform = field.iceberg()
        except ValueError as exc:
            raise DatasetOpError(str(exc), PARTITION_HINT) from None
        keyed[(schema.find_field(field.column).field_id, str(transform))] = (field, transform)
    if set(keyed) == set(current):
        raise DatasetOpError("the dataset is already partitioned so", "nothing to change")

    def change(txn: Any) -> None:
        with txn.update_spec() as update:
            for key, name in current.items():
                if key not in keyed:
                    update.remove_field(name)
            for key, (field, transform) in keyed.items():
                if key not in current:
                    update.add_field(field.column, transform, field.field_name)

    try:
        commit_change(lambda: _transact(table, change))
    except ValueError as exc:
        raise DatasetOpError(str(exc), PARTITION_HINT) from None
    return [p.name for p in table.refresh().spec().fields]


def metadata_log(table: Table) -> list[dict[str, Any]]:
    """The table's metadata files, oldest first, the current one last and marked."""
    files: Iterable[Any] = table.metadata.metadata_log
    rows = [_metadata_row(f.metadata_file, f.timestamp_ms, False) for f in files]
    rows.append(
        _metadata_row(table.metadata_location, table.metadata.last_updated_ms, current=True)
    )
    return rows


def _metadata_row(location: str, timestamp_ms: int, current: bool) -> dict[str, Any]:
    return {
        "version": location.rsplit("/", 1)[-1],
        "timestamp_ms": timestamp_ms,
        "time": datetime.fromtimestamp(timestamp_ms / 1000, UTC).isoformat(timespec="seconds"),
        "current": current,
    }
