"""The Iceberg lakehouse in the embedded engine: a view over the current snapshot's files.

The depot's catalog is opened as flare opens it (a pyiceberg SQL catalog, the warehouse
relative to ``DATAOS_HOME``). A table becomes ``SELECT * FROM read_parquet([data files],
schema = MAP {field id: {name, type}})``: DuckDB scans the Parquet files itself and maps
their columns by Iceberg field id, so renamed, added and promoted columns read as the current
schema says. Before each query the table's metadata location is compared with the one the
view was built from (at most once per ``DATAOS_MINERVA_LAKEHOUSE_CHECK_SECONDS``, default
1 s: each check reads the table's metadata); a new snapshot or schema rebuilds the view.
Snapshots with delete files, files outside the local file system and files without field
ids (a name mapping) are read by pyiceberg into Arrow and copied instead.

A local warehouse (and a SQLite catalog file) is confined (``adapters.localfs``) at every
refresh, and the catalog is opened again when its real folder changed; the metadata and
every data or delete file a view or copy reads must resolve inside the real warehouse. A
refusal is a MinervaError naming the depot, the path and the rule.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from pyiceberg import types as it
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchNamespaceError, NoSuchTableError
from pyiceberg.schema import Schema
from pyiceberg.table import Table as IcebergTable

from dataos_defs.adapters import iceberg
from dataos_defs.adapters.iceberg_ops import TRASH
from dataos_defs.adapters.localfs import Storage, StorageError
from dataos_defs.manifest.depot_types import LakehouseConnection
from dataos_defs.minerva.duck import Database, Freshness, empty_select, sql_string
from dataos_defs.minerva.files import refused
from dataos_defs.minerva.model import TableName
from dataos_defs.minerva.sources import Columns, gone
from dataos_defs.stacks.flare.datasets import CatalogPlace, catalog_place, table_file

_PRIMITIVES: dict[type[it.IcebergType], str] = {
    it.BooleanType: "BOOLEAN",
    it.IntegerType: "INTEGER",
    it.LongType: "BIGINT",
    it.FloatType: "FLOAT",
    it.DoubleType: "DOUBLE",
    it.DateType: "DATE",
    it.TimeType: "TIME",
    it.TimestampType: "TIMESTAMP",
    it.TimestamptzType: "TIMESTAMP WITH TIME ZONE",
    it.TimestampNanoType: "TIMESTAMP_NS",
    it.TimestamptzNanoType: "TIMESTAMP WITH TIME ZONE",
    it.StringType: "VARCHAR",
    it.UUIDType: "UUID",
    it.BinaryType: "BLOB",
    it.FixedType: "BLOB",
}
_NAME_MAPPING = "schema.name-mapping.default"


def column_type(kind: it.IcebergType) -> str:
    """The DuckDB type DuckDB reads an Iceberg column's Parquet data as."""
    if isinstance(kind, it.DecimalType):
        return f"DECIMAL({kind.precision},{kind.scale})"
    if isinstance(kind, it.StructType):
        fields = ", ".join(f"{_quote(f.name)} {column_type(f.field_type)}" for f in kind.fields)
        return f"STRUCT({fields})"
    if isinstance(kind, it.ListType):
        return f"{column_type(kind.element_type)}[]"
    if isinstance(kind, it.MapType):
        return f"MAP({column_type(kind.key_type)}, {column_type(kind.value_type)})"
    return _PRIMITIVES.get(type(kind), "VARCHAR")


def schema_columns(schema: Schema) -> Columns:
    return [(field.name, column_type(field.field_type)) for field in schema.fields]


def parquet_query(files: list[str], schema: Schema) -> str:
    """A query reading ``files`` as ``schema`` says, columns matched by field id."""
    paths = ", ".join(sql_string(path) for path in files)
    entries = ", ".join(
        f"{field.field_id}: {{name: {sql_string(field.name)}, "
        f"type: {sql_string(column_type(field.field_type))}, default_value: NULL}}"
        for field in schema.fields
    )
    return f"SELECT * FROM read_parquet([{paths}], schema = MAP {{{entries}}})"


class LakehouseSource:
    def __init__(
        self,
        depot: str,
        conn: LakehouseConnection,
        storage: Storage,
        db: Database,
        check_seconds: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.depot = depot
        self.check_seconds = check_seconds
        self._clock = clock
        self._checked: dict[str, float] = {}
        self._conn = conn
        self._storage = storage
        self._db = db
        self._catalog: Catalog | None = None
        self._place: CatalogPlace | None = None
        self._lock = threading.Lock()
        self._fresh = Freshness(clock)

    def datasets(self) -> list[tuple[str, str]]:
        with self._lock:
            catalog = self._open()
            found = [
                (".".join(table[:-1]).lower(), table[-1].lower())
                for namespace in catalog.list_namespaces()
                if namespace and namespace[0] != TRASH  # soft-dropped tables are not data
                for table in catalog.list_tables(namespace)
            ]
        return sorted(found)

    def describe(self, collection: str, dataset: str) -> Columns | None:
        table = self._load(collection, dataset)
        return None if table is None else schema_columns(table.schema())

    def forget_checks(self) -> None:
        """Read every table's metadata again on its next use (a dataset operation changed
        a schema or a snapshot: ``check_seconds`` must not delay that)."""
        self._checked.clear()

    def refresh(self, name: TableName, physical: str) -> None:
        """Rebuild the view when the table has a new snapshot or schema; the table's
        metadata is read at most once per ``check_seconds``."""
        key = name.dataset_id
        checked = self._checked.get(key)
        if checked is not None and self._clock() - checked < self.check_seconds:
            with self._lock:
                if self._where() == self._place:
                    return
        self._refresh(name, physical)
        self._checked[key] = self._clock()

    def _refresh(self, name: TableName, physical: str) -> None:
        table = self._load(name.collection, name.dataset)
        if table is None:
            raise gone(name)
        key, token = name.dataset_id, table.metadata_location
        if self._fresh.current(key, token):
            return
        with self._fresh.updating(key):
            if self._fresh.current(key, token):
                return
            self._build(table, physical)
            self._fresh.built(key, token)

    def close(self) -> None:
        with self._lock:
            self._catalog = None
            self._place = None

    def _where(self) -> CatalogPlace:
        """The warehouse and catalog URI, confined now (a link may have been made since)."""
        try:
            return catalog_place(self._conn, self._storage)
        except StorageError as exc:
            raise refused(self.depot, exc) from None

    def _open(self) -> Catalog:
        place = self._where()
        if self._catalog is None or place != self._place:
            name = self._conn.catalog or self.depot
            self._catalog = iceberg.open_catalog(name, place.warehouse, place.uri)
            self._place = place
        return self._catalog

    def _load(self, collection: str, dataset: str) -> IcebergTable | None:
        with self._lock:
            try:
                table = self._open().load_table((collection, dataset))
            except (NoSuchTableError, NoSuchNamespaceError):
                return None
            self._within(table.metadata_location)
            return table

    def _within(self, location: str) -> str | None:
        """The real local path of a table file, inside the real warehouse (None for an
        object-store file); see ``stacks.flare.datasets.table_file``."""
        try:
            place = self._place or catalog_place(self._conn, self._storage)
            return table_file(self._storage, place, location, self._conn.warehouse)
        except StorageError as exc:
            raise refused(self.depot, exc) from None

    def _build(self, table: IcebergTable, physical: str) -> None:
        schema = table.schema()
        columns = schema_columns(schema)
        tasks = list(table.scan().plan_files())
        for task in tasks:
            for delete in task.delete_files:
                self._within(delete.file_path)
        files = [self._within(task.file.file_path) for task in tasks]
        copied = any(task.delete_files for task in tasks) or _NAME_MAPPING in table.properties
        if copied or None in files:
            self._db.replace_table(physical, table.scan().to_arrow(), columns)
        elif not files:
            self._db.replace_view(physical, empty_select(columns))
        else:
            self._db.replace_view(physical, parquet_query([f for f in files if f], schema))


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
