"""Iceberg tables through pyiceberg: a SQL catalog (SQLite by default) over a warehouse folder.

The embedded lakehouse keeps its catalog file beside the data: ``<warehouse>/catalog.db``
tracks every table whose files live under ``<warehouse>/<namespace>/<table>``.
"""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
from pyiceberg.catalog import Catalog
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.exceptions import NamespaceAlreadyExistsError, NoSuchTableError
from pyiceberg.table import Table, Transaction
from pyiceberg.transforms import (
    BucketTransform,
    DayTransform,
    HourTransform,
    IdentityTransform,
    MonthTransform,
    Transform,
    TruncateTransform,
    YearTransform,
)

CATALOG_FILE = "catalog.db"


@dataclass(frozen=True)
class PartitionField:
    """One partition transform: ``day`` of ``ordered_at``, ``bucket`` 16 of ``id``, ..."""

    transform: str
    column: str
    name: str | None = None
    parameter: int | None = None

    def iceberg(self) -> Transform[Any, Any]:
        simple: dict[str, Transform[Any, Any]] = {
            "identity": IdentityTransform(),
            "year": YearTransform(),
            "month": MonthTransform(),
            "day": DayTransform(),
            "hour": HourTransform(),
        }
        if self.transform in simple:
            return simple[self.transform]
        if self.parameter is None:
            raise ValueError(f"a {self.transform} partition needs a number")
        if self.transform == "bucket":
            return BucketTransform(self.parameter)
        if self.transform == "truncate":
            return TruncateTransform(self.parameter)
        raise ValueError(f"unknown partition transform '{self.transform}'")

    @property
    def field_name(self) -> str:
        if self.name:
            return self.name
        suffix = self.transform if self.parameter is None else f"{self.transform}_{self.parameter}"
        return f"{self.column}_{suffix}"


def open_catalog(name: str, warehouse: Path | str, uri: str | None = None) -> Catalog:
    """A SQL catalog named ``name``; ``uri`` defaults to ``<warehouse>/catalog.db``."""
    if isinstance(warehouse, Path) or "://" not in warehouse:
        folder = Path(warehouse).resolve()
        folder.mkdir(parents=True, exist_ok=True)
        location = folder.as_uri()
        uri = uri or f"sqlite:///{folder / CATALOG_FILE}"
    else:
        location = warehouse
        if uri is None:
            raise ValueError("an object-store warehouse needs a catalog 'uri'")
    return SqlCatalog(name, uri=uri, warehouse=location)


def read_table(catalog: Catalog, namespace: str, table: str) -> pa.Table:
    return catalog.load_table((namespace, table)).scan().to_arrow()


def table_exists(catalog: Catalog, namespace: str, table: str) -> bool:
    return catalog.table_exists((namespace, table))


def write_table(
    catalog: Catalog,
    namespace: str,
    table: str,
    data: pa.Table,
    mode: str,
    partition: Sequence[PartitionField] = (),
) -> Table:
    """Create the table if missing, add new columns and partition fields, then write."""
    _check_transforms(partition)
    with contextlib.suppress(NamespaceAlreadyExistsError):
        catalog.create_namespace(namespace)
    try:
        target = catalog.load_table((namespace, table))
    except NoSuchTableError:
        target = catalog.create_table((namespace, table), schema=data.schema)
    with target.transaction() as txn:
        with txn.update_schema() as update:
            update.union_by_name(data.schema)
        _evolve_partitions(txn, target, partition)
        if mode == "append" or target.current_snapshot() is None:
            txn.append(data)
        else:
            txn.overwrite(data)
    return target


def _check_transforms(fields: Sequence[PartitionField]) -> None:
    """pyiceberg computes every transform but ``identity`` with the optional pyiceberg-core."""
    computed = sorted({f.transform for f in fields if f.transform != "identity"})
    if computed and importlib.util.find_spec("pyiceberg_core") is None:
        raise ValueError(
            f"partition transform(s) {', '.join(computed)} need the pyiceberg-core package "
            "(install pyiceberg[pyiceberg-core]); identity partitions work without it"
        )


def _evolve_partitions(txn: Transaction, target: Table, fields: Sequence[PartitionField]) -> None:
    existing = {f.name for f in target.spec().fields}
    missing = [f for f in fields if f.field_name not in existing]
    if not missing:
        return
    with txn.update_spec() as update:
        for field in missing:
            update.add_field(field.column, field.iceberg(), field.field_name)
