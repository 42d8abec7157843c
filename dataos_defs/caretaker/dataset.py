"""Caretaker's history as a governed dataset: the system depot ``caretaker``.

SQL names it like any depot's data: ``caretaker.runs.runs``, ``caretaker.runs.steps``,
``caretaker.runs.checks`` (quality check results, figures only) and
``caretaker.runs.processes`` (catalog ``caretaker``, schema ``runs``), and Heimdall decides
reads on ``dataos://caretaker:runs/<table>`` as for any dataset (default deny; the system
policy ``policies/heimdall/system/caretaker.yaml`` lets operators and
``roles:id:caretaker-reader`` read; the Gateway keeps a non-operator to the runs they own,
``history_governance.py``).

Embedded engine: every ``minerva`` cluster has the depot (as Trino has its ``system``
catalog), once the history exists (something was recorded); before that it lists nothing.
A local history is a view over DuckDB's Parquet reader with Hive partitioning (``day`` comes
from the folder; the file list is taken again at each query, and the view rebuilt when it
changed). A history on an object store is read through fsspec into Arrow and copied (DuckDB
runs without its httpfs extension here), again only when the file list changed, listed at
most every :data:`REMOTE_CHECK_SECONDS`.

The view reads the parts as they are, with no de-duplication: the recorder writes each run
once as readers see it, a retry after a crash replacing its parts rather than adding to them
(``caretaker.historize``), so a window function over every row is not paid on every query.

Trino: add the catalog to the cluster's ``catalogs[]`` (:func:`cluster_catalog_entry`: the
properties of :func:`trino_catalog`, a Hive connector with a file metastore beside the
history), then run :func:`trino_tables_ddl` once to register the partitioned external
tables, and its ``sync_partition_metadata`` calls after new days appear (Hive does not
discover partitions).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from urllib.parse import urlparse

import pyarrow as pa  # type: ignore[import-untyped]

from dataos_defs.adapters.localfs import Storage, StorageError
from dataos_defs.caretaker.history import URL_ENV, HistoryStore, Part
from dataos_defs.caretaker.history_schema import KINDS, HistoryError, duckdb_columns
from dataos_defs.minerva.duck import Database, Freshness, empty_select, sql_string
from dataos_defs.minerva.model import TableName
from dataos_defs.minerva.result import MinervaError
from dataos_defs.minerva.sources import Columns, gone

HISTORY_DEPOT = "caretaker"
HISTORY_COLLECTION = "runs"
TRINO_METASTORE_FOLDER = ".trino-metastore"
REMOTE_CHECK_SECONDS = 5.0
"""How long a query may miss parts appended to an object-store history (its listing and
copy are reused that long); a local history is listed at every query."""
_TRINO_TYPES = {
    "VARCHAR": "varchar",
    "BIGINT": "bigint",
    "DOUBLE": "double",
    "BOOLEAN": "boolean",
    "DATE": "date",
}
_FILE_SYSTEMS = {
    "s3": "fs.native-s3.enabled",
    "gs": "fs.native-gcs.enabled",
    "abfs": "fs.native-azure.enabled",
    "abfss": "fs.native-azure.enabled",
}


def history_tables() -> list[TableName]:
    return [TableName(HISTORY_DEPOT, HISTORY_COLLECTION, kind) for kind in KINDS]


def is_history_table(name: TableName) -> bool:
    return name.depot.lower() == HISTORY_DEPOT


class HistorySource:
    """The ``caretaker`` depot in the embedded engine (a minerva ``Source``)."""

    def __init__(self, store: HistoryStore, db: Database, check_seconds: float = 0.0) -> None:
        """``check_seconds``: how long a listing of the parts is reused before a query lists
        them again (an object store's listing is a remote call; a local one costs ~1 ms)."""
        self.store = store
        self.check_seconds = check_seconds
        self._db = db
        self._fresh = Freshness()
        self._listed: dict[str, tuple[float, list[Part]]] = {}

    @classmethod
    def from_env(cls, home: Path, db: Database) -> HistorySource | RefusedHistory:
        """The history the settings name, or, when they are wrong, a depot that lists
        nothing and refuses every read with the reason (other depots stay readable)."""
        try:
            store = HistoryStore.from_env(home)
            if store.is_local:
                _outside_storage_roots(Path(store.root), Storage.from_env(home))
        except (HistoryError, StorageError) as exc:
            return RefusedHistory(f"depot '{HISTORY_DEPOT}' cannot be read: {exc}")
        return cls(store, db, 0.0 if store.is_local else REMOTE_CHECK_SECONDS)

    def datasets(self) -> list[tuple[str, str]]:
        if not self.store.exists():
            return []
        return sorted((HISTORY_COLLECTION, kind) for kind in KINDS)

    def describe(self, collection: str, dataset: str) -> Columns | None:
        if collection != HISTORY_COLLECTION or dataset not in KINDS or not self.store.exists():
            return None
        return duckdb_columns(dataset)

    def refresh(self, name: TableName, physical: str) -> None:
        """Make the physical object read the parts listed now (rebuilt only on a change)."""
        if self.describe(name.collection, name.dataset) is None:
            raise gone(name)
        kind = name.dataset
        parts = self._parts(kind)
        token = tuple(part.path for part in parts)
        key = name.dataset_id
        if self._fresh.current(key, token):
            return
        with self._fresh.updating(key):
            if not self._fresh.current(key, token):
                self._build(kind, parts, physical)
                self._fresh.built(key, token)

    def close(self) -> None:
        """Nothing to release: the views and copies go with the database."""

    def _parts(self, kind: str) -> list[Part]:
        listed = self._listed.get(kind)
        now = time.monotonic()
        if listed is not None and now - listed[0] < self.check_seconds:
            return listed[1]
        parts = self.store.parts(kind)
        self._listed[kind] = (now, parts)
        return parts

    def _build(self, kind: str, parts: list[Part], physical: str) -> None:
        columns = duckdb_columns(kind)
        if not parts:
            self._db.replace_view(physical, empty_select(columns))
        elif self.store.is_local:
            self._db.replace_view(physical, self._parquet_view(parts, columns))
        else:
            self._db.replace_table(physical, self._copy(kind, parts, columns), columns)

    def _parquet_view(self, parts: list[Part], columns: Columns) -> str:
        """The declared columns over the parts; a column no part has reads as NULL. Columns
        are cast only where the files' type differs: a cast on every column would keep the
        ``day`` and other filters from reaching the Parquet scan (twice the time)."""
        paths = "[" + ", ".join(sql_string(part.path) for part in parts) + "]"
        reader = (
            f"read_parquet({paths}, hive_partitioning = true, hive_types = {{'day': DATE}},"
            " union_by_name = true)"
        )
        present = dict(self._db.describe(f"SELECT * FROM {reader}"))
        selected = ", ".join(_column(name, kind, present.get(name)) for name, kind in columns)
        return f"SELECT {selected} FROM {reader}"

    def _copy(self, kind: str, parts: list[Part], columns: Columns) -> pa.Table:
        tables = [self.store.read_part(part, with_day=True) for part in parts]
        data = pa.concat_tables(tables, promote_options="permissive")
        for name, _ in columns:
            if name not in data.column_names:
                data = data.append_column(name, pa.nulls(data.num_rows))
        return data


class RefusedHistory:
    """The ``caretaker`` depot when its settings are wrong: nothing listed, reads refused."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def datasets(self) -> list[tuple[str, str]]:
        return []

    def describe(self, collection: str, dataset: str) -> Columns | None:
        raise MinervaError(self.reason)

    def refresh(self, name: TableName, physical: str) -> None:
        raise MinervaError(self.reason)

    def close(self) -> None:
        """Nothing was opened."""


def _outside_storage_roots(root: Path, storage: Storage) -> None:
    """Refuse a local history inside a storage root: a file depot there would read the raw
    Parquet without the own-runs filter (the default folder is platform state, never a root)."""
    real = Path(os.path.realpath(root))
    for storage_root in storage.roots:
        if real.is_relative_to(storage_root.real) or storage_root.real.is_relative_to(real):
            raise HistoryError(
                f"the history folder {real} overlaps the storage root {storage_root.real},"
                " where depots could read it ungoverned",
                f"set {URL_ENV} to a folder outside the storage roots",
            )


def trino_location(url: str | None, trino_home: str = "/var/lib/dataos") -> str:
    """The history's root as Trino reaches it: the configured URL, else the default folder
    under ``DATAOS_HOME`` as mounted on the Trino nodes."""
    if url and "://" in url and not url.startswith("file://"):
        return url.rstrip("/")
    path = url.removeprefix("file://") if url else f"{trino_home}/caretaker/history"
    return "file://" + path.rstrip("/")


def trino_catalog(location: str) -> dict[str, str]:
    """The properties of the ``caretaker`` catalog (a cluster's ``catalogs[]`` entry)."""
    scheme = urlparse(location).scheme
    return {
        "connector.name": "hive",
        "hive.metastore": "file",
        "hive.metastore.catalog.dir": f"{location}/{TRINO_METASTORE_FOLDER}",
        _FILE_SYSTEMS.get(scheme, "fs.hadoop.enabled"): "true",
    }


def cluster_catalog_entry(location: str) -> dict[str, object]:
    """The ``cluster.minerva.catalogs[]`` entry that gives a Trino cluster the history."""
    properties = trino_catalog(location)
    connector = properties.pop("connector.name")
    return {"name": HISTORY_DEPOT, "type": connector, "properties": properties}


def trino_tables_ddl(location: str) -> list[str]:
    """Statements registering the history tables in the catalog's metastore, then their
    partitions; run as an operator once, and the last ones (a table each) when days are added.
    Partition columns come last in Hive tables, so ``workspace`` follows ``day`` there."""
    statements = [f"CREATE SCHEMA IF NOT EXISTS {HISTORY_DEPOT}.{HISTORY_COLLECTION}"]
    for kind in KINDS:
        data = [(c, t) for c, t in duckdb_columns(kind) if c not in ("day", "workspace")]
        declared = [*data, ("day", "DATE"), ("workspace", "VARCHAR")]
        columns = ", ".join(f"{_quoted(c)} {_TRINO_TYPES[t]}" for c, t in declared)
        statements.append(
            f"CREATE TABLE IF NOT EXISTS {HISTORY_DEPOT}.{HISTORY_COLLECTION}.{kind} ({columns})"
            f" WITH (external_location = {sql_string(f'{location}/{kind}')},"
            " format = 'PARQUET', partitioned_by = ARRAY['day', 'workspace'])"
        )
    statements.extend(
        f"CALL {HISTORY_DEPOT}.system.sync_partition_metadata("
        f"{sql_string(HISTORY_COLLECTION)}, {sql_string(kind)}, 'FULL')"
        for kind in KINDS
    )
    return statements


def _column(name: str, declared: str, found: str | None) -> str:
    if found == declared:
        return _quoted(name)
    value = _quoted(name) if found is not None else "NULL"
    return f"CAST({value} AS {declared}) AS {_quoted(name)}"


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
