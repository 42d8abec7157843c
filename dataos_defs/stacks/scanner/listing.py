"""The datasets a depot holds, listed without reading any of their rows.

The scanner asks Heimdall for ``read`` on every dataset it will scan before it scans
anything, so it lists them first: a PostgreSQL depot from ``pg_class`` (as the depot's
read credentials), a lakehouse depot from its Iceberg catalog (with each table's typed
schema), a FILE depot from its folder (each file's columns as DuckDB infers them from its
header or footer). Local folders are confined exactly as flare confines them
(``stacks.flare.datasets``). Every listing is bounded by :data:`MAX_DATASETS`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
from psycopg import sql

from dataos_defs.adapters import iceberg, iceberg_ops, postgres
from dataos_defs.adapters.localfs import Storage
from dataos_defs.manifest.depot import Depot
from dataos_defs.manifest.depot_types import (
    FileConnection,
    JdbcConnection,
    LakehouseConnection,
    PostgresConnection,
)
from dataos_defs.metis.run_lineage import data_type
from dataos_defs.stacks.flare.datasets import catalog_place, is_remote

MAX_DATASETS = 10_000
SYSTEM_SCHEMAS = ("pg_catalog", "information_schema")
FILE_READERS = {".csv": "read_csv_auto", ".parquet": "read_parquet", ".json": "read_json_auto"}
FLAT_COLLECTION = "none"
"""The collection of files directly in a FILE depot's folder (as flare names it)."""


class ListingError(RuntimeError):
    """The depot's datasets could not be listed (the message names the depot)."""


@dataclass(frozen=True)
class ScannedColumn:
    name: str
    data_type: str
    """OpenMetadata's ``dataType``."""
    display: str
    """The type as the source writes it."""
    precision: int | None = None
    scale: int | None = None


@dataclass(frozen=True)
class Dataset:
    collection: str
    dataset: str
    columns: tuple[ScannedColumn, ...] = field(default=())
    table_type: str = "Regular"

    def address(self, depot: str) -> str:
        return f"dataos://{depot}:{self.collection}/{self.dataset}"


def _bounded(depot: str, found: Sequence[Any]) -> None:
    if len(found) > MAX_DATASETS:
        raise ListingError(
            f"depot '{depot}' holds more than {MAX_DATASETS} datasets; narrow the scan with "
            "sourceConfig.config schemaFilterPattern or tableFilterPattern"
        )


# --- PostgreSQL ------------------------------------------------------------------------------

_PG_LISTING = sql.SQL(
    "SELECT n.nspname, c.relname, c.relkind FROM pg_class c"
    " JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE c.relkind = ANY({kinds}) AND n.nspname <> ALL({system})"
    " AND n.nspname NOT LIKE 'pg\\_%' ORDER BY 1, 2 LIMIT {limit}"
)


def postgres_datasets(
    name: str, depot: Depot, credentials: Mapping[str, str], include_views: bool
) -> list[Dataset]:
    """Tables (and views, materialized views) of the depot's database."""
    conn = depot.depot.connection
    if not isinstance(conn, PostgresConnection | JdbcConnection):
        raise ListingError(f"depot '{name}' has no PostgreSQL connection")
    kinds = ["r", "p", "f", *(["v", "m"] if include_views else [])]
    query = _PG_LISTING.format(
        kinds=sql.Literal(kinds),
        system=sql.Literal(list(SYSTEM_SCHEMAS)),
        limit=sql.Literal(MAX_DATASETS + 1),
    )
    info = postgres.conninfo(conn.host, conn.port, conn.database, conn.params, credentials)
    try:
        with postgres.connect(info) as session:
            rows = session.execute(query).fetchall()
    except Exception as exc:  # the driver's message never holds the password
        raise ListingError(
            f"could not list the datasets of depot '{name}': {type(exc).__name__}"
        ) from None
    _bounded(name, rows)
    return [
        Dataset(schema, table, table_type="View" if kind in ("v", "m") else "Regular")
        for schema, table, kind in rows
    ]


# --- lakehouse -------------------------------------------------------------------------------

_ICEBERG_TYPES = {
    "boolean": "BOOLEAN",
    "int": "INT",
    "long": "BIGINT",
    "float": "FLOAT",
    "double": "DOUBLE",
    "date": "DATE",
    "time": "TIME",
    "timestamp": "TIMESTAMP",
    "timestamptz": "TIMESTAMPZ",
    "timestamp_ns": "TIMESTAMP",
    "timestamptz_ns": "TIMESTAMPZ",
    "string": "STRING",
    "uuid": "UUID",
    "binary": "BINARY",
}

_NESTED = {"struct": "STRUCT", "list": "ARRAY", "map": "MAP", "fixed": "BINARY"}


def iceberg_column(name: str, iceberg_type: Any) -> ScannedColumn:
    """A column of an Iceberg schema, typed as OpenMetadata types it.

    >>> from pyiceberg.types import DecimalType
    >>> column = iceberg_column("amount", DecimalType(12, 2))
    >>> column.data_type, column.display, column.precision, column.scale
    ('DECIMAL', 'decimal(12, 2)', 12, 2)
    """
    text = str(iceberg_type)
    precision = getattr(iceberg_type, "precision", None)
    scale = getattr(iceberg_type, "scale", None)
    if precision is not None:
        return ScannedColumn(name, "DECIMAL", text, int(precision), int(scale or 0))
    nested = re.match(r"(struct|list|map|fixed)\b", text)
    if nested is not None:
        return ScannedColumn(name, _NESTED[nested.group(1)], text)
    return ScannedColumn(name, _ICEBERG_TYPES.get(text, "UNKNOWN"), text)


def lakehouse_datasets(name: str, depot: Depot, home: Path) -> list[Dataset]:
    """Every table of the depot's Iceberg catalog, with its current schema."""
    conn = depot.depot.connection
    if not isinstance(conn, LakehouseConnection):
        raise ListingError(f"depot '{name}' has no lakehouse connection")
    place = catalog_place(conn, Storage.from_env(home))
    catalog = iceberg.open_catalog(conn.catalog or name, place.warehouse, place.uri)
    found = iceberg_ops.list_datasets(catalog, None)
    _bounded(name, found)
    datasets = []
    for collection, dataset in found:
        table = iceberg_ops.load(catalog, collection, dataset)
        if table is None:
            continue  # dropped while listing
        columns = tuple(iceberg_column(f.name, f.field_type) for f in table.schema().fields)
        datasets.append(Dataset(collection, dataset, columns, "Iceberg"))
    return datasets


# --- files -----------------------------------------------------------------------------------


def file_datasets(name: str, depot: Depot, home: Path) -> list[Dataset]:
    """The files of a local FILE depot: ``<folder>/<file>`` is ``none/<stem>`` and
    ``<folder>/<collection>/<file>`` is ``<collection>/<stem>``."""
    conn = depot.depot.connection
    if not isinstance(conn, FileConnection):
        raise ListingError(f"depot '{name}' has no file connection")
    if is_remote(conn.path):
        raise ListingError(
            f"depot '{name}' lives in an object store ({conn.path}); the scanner lists "
            "local FILE depots only"
        )
    storage = Storage.from_env(home)
    root = storage.confine(conn.path)
    files = [
        (FLAT_COLLECTION if path.parent == root else path.parent.name, path)
        for path in sorted([*root.glob("*"), *root.glob("*/*")])
        if path.is_file() and path.suffix.lower() in FILE_READERS
    ]
    _bounded(name, files)
    datasets = []
    for collection, path in files:
        real = storage.within(root, path, conn.path)
        datasets.append(Dataset(collection, path.stem, _file_columns(real), "External"))
    return datasets


def _file_columns(path: Path) -> tuple[ScannedColumn, ...]:
    reader = FILE_READERS[path.suffix.lower()]
    with duckdb.connect() as session:
        found = session.execute(f"SELECT * FROM {reader}(?) LIMIT 0", [str(path)]).description
    return tuple(ScannedColumn(c[0], data_type(str(c[1])), str(c[1]).lower()) for c in found)


MAX_QUERY_LOG_BYTES = 256 * 1024 * 1024


def query_log_file(name: str, depot: Depot, home: Path, collection: str, dataset: str) -> Path:
    """The real path of the CSV ``collection/dataset`` of the local FILE depot ``name`` (a
    query log: ``query_text,database_name,schema_name``), confined as flare confines it."""
    conn = depot.depot.connection
    if not isinstance(conn, FileConnection) or is_remote(conn.path):
        raise ListingError(
            f"the query log must be a CSV of a local FILE depot; depot '{name}' is not one"
        )
    storage = Storage.from_env(home)
    root = storage.confine(conn.path)
    folder = root if collection == FLAT_COLLECTION else root / collection
    path = folder / f"{dataset}.csv"
    if not path.is_file():
        raise ListingError(
            f"the query log dataos://{name}:{collection}/{dataset} is not there "
            f"(expected the file {dataset}.csv in the depot's folder)"
        )
    real = storage.within(root, path, conn.path)
    if real.stat().st_size > MAX_QUERY_LOG_BYTES:
        raise ListingError(
            f"the query log dataos://{name}:{collection}/{dataset} is larger than "
            f"{MAX_QUERY_LOG_BYTES // 2**20} MiB; split it"
        )
    return real
