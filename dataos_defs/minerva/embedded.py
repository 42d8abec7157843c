"""The embedded Minerva cluster: one DuckDB database with every depot of the cluster attached,
so ``depot.collection.dataset`` names resolve across PostgreSQL, files and the lakehouse.

Nothing is read when the cluster is built. ``tables()`` lists datasets from metadata (folder
listings, the Iceberg catalog, ``information_schema``); ``table(name)`` describes one
dataset; ``execute(sql)`` first brings every dataset the statement names (by physical name,
as the Gateway's rewrite writes them) up to date, then runs it on a fresh cursor. How each
kind stays current is described in ``files.py``, ``lakehouse.py`` and ``pg.py``.

Depots are resolved through a ``DepotResolver`` (``StoreDepots`` over the Poros store in the
API server): credentials are fetched only when a PostgreSQL session opens, and every error
message passes through the cluster's redactor.

Every cluster also has the system depot ``caretaker``, Caretaker's run history
(``dataos_defs/caretaker/dataset.py``); a manifest's depot of that name is not attached.

File and lakehouse depots read only inside the storage roots (``adapters.localfs``): the
roots are read when the first local depot attaches (a root inside the platform's state is
a MinervaError then), and each source confines its folder on every read.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import duckdb

from dataos_defs.adapters.localfs import Storage, StorageError
from dataos_defs.caretaker.dataset import HISTORY_DEPOT, HistorySource
from dataos_defs.manifest.cluster import Cluster
from dataos_defs.manifest.depot_types import (
    FileConnection,
    JdbcConnection,
    LakehouseConnection,
    PostgresConnection,
)
from dataos_defs.minerva.duck import Database, physical_name
from dataos_defs.minerva.files import FileSource
from dataos_defs.minerva.lakehouse import LakehouseSource
from dataos_defs.minerva.model import Column, Table, TableName
from dataos_defs.minerva.pg import PostgresSource
from dataos_defs.minerva.result import MinervaError, QueryResult, RegisterInterrupt
from dataos_defs.minerva.settings import MinervaSettings
from dataos_defs.minerva.sources import Source
from dataos_defs.minerva.tags import ColumnTags, ManifestColumnTags
from dataos_defs.minerva.types import trino_type
from dataos_defs.stacks.flare.datasets import depot_kind, is_remote
from dataos_defs.stacks.flare.model import DepotResolver, Redactor


class EmbeddedCluster:
    """A ``minerva`` cluster run by the embedded DuckDB engine (dialect ``duckdb``)."""

    dialect = "duckdb"

    def __init__(
        self,
        cluster: Cluster,
        resolver: DepotResolver,
        home: Path,
        *,
        tags: ColumnTags | None = None,
        settings: MinervaSettings | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``clock`` times the settings' TTL and check interval (tests pass one they move)."""
        self.cluster = cluster
        self.name = cluster.name
        self.depots = (*_attached_depots(cluster), HISTORY_DEPOT)
        self._resolver = resolver
        self._home = home
        self._settings = settings or MinervaSettings.from_env()
        self._tags = tags
        self._clock = clock
        self._redact = Redactor()
        self._db = Database()
        self._sources: dict[str, Source | None] = {}
        self._storage: Storage | None = None
        self._lock = threading.Lock()

    def tables(self) -> list[TableName]:
        found: list[TableName] = []
        for depot in self.depots:
            source = self._source(depot)
            if source is not None:
                found.extend(TableName(depot, c, d) for c, d in source.datasets())
        return found

    def table(self, name: TableName) -> Table | None:
        wanted = TableName(name.depot.lower(), name.collection.lower(), name.dataset.lower())
        source = self._source(wanted.depot)
        if source is None:
            return None
        columns = source.describe(wanted.collection, wanted.dataset)
        if columns is None:
            return None
        dataset_tags, column_tags = self._column_tags().for_table(wanted)
        return Table(
            wanted,
            tuple(Column(c, t, column_tags.get(c.lower(), ())) for c, t in columns),
            physical_name(wanted),
            dataset_tags,
        )

    def execute(
        self,
        sql: str,
        reads: Iterable[TableName] = (),
        user: str | None = None,
        *,
        register_interrupt: RegisterInterrupt | None = None,
    ) -> QueryResult:
        """Run a statement (the Gateway's rewritten SQL, DuckDB dialect) that reads the
        datasets ``reads`` (as the Gateway's analysis found them: only these are loaded or
        refreshed, whatever else the text may spell); raises MinervaError when a dataset
        cannot be read or DuckDB rejects the statement. ``user`` changes nothing here: the
        Gateway has already masked and filtered the statement for its caller.
        ``register_interrupt`` gets the cursor's ``interrupt`` before the statement starts."""
        for name in reads:
            physical = physical_name(name)
            source = self._source(name.depot)
            if source is None:
                raise MinervaError(f"depot '{name.depot}' is not attached to {self.name}")
            source.refresh(name, physical)
        cursor = self._db.open_cursor()
        if register_interrupt is not None:
            register_interrupt(cursor.interrupt)
        try:
            cursor.execute(sql)
            description = cursor.description or []
        except duckdb.Error as exc:
            cursor.close()
            raise MinervaError(self._redact(str(exc))) from None
        columns = [(str(d[0]), trino_type(str(d[1]))) for d in description]
        return QueryResult(columns, cursor.fetchmany, cursor.close)

    def forget_checks(self) -> None:
        """The lakehouse tables are read again on their next use (see ``LakehouseSource``)."""
        with self._lock:
            sources = list(self._sources.values())
        for source in sources:
            if isinstance(source, LakehouseSource):
                source.forget_checks()

    def close(self) -> None:
        with self._lock:
            for source in self._sources.values():
                if source is not None:
                    source.close()
            self._sources.clear()
        self._db.close()

    def _column_tags(self) -> ColumnTags:
        """The given tag source, else the tags declared on the attached depots."""
        if self._tags is None:
            depots = []
            for depot in self.depots:
                try:
                    depots.append(self._resolver.depot(depot))
                except LookupError:
                    continue
            self._tags = ManifestColumnTags(depots)
        return self._tags

    def _source(self, depot: str) -> Source | None:
        """The depot's attachment, made on first use; None when the depot is not attached,
        not applied or of a kind the embedded engine cannot read."""
        if depot not in self.depots:
            return None
        with self._lock:
            if depot not in self._sources:
                self._sources[depot] = self._attach(depot)
            return self._sources[depot]

    def _attach(self, name: str) -> Source | None:
        if name == HISTORY_DEPOT:
            return HistorySource.from_env(self._home, self._db)
        try:
            depot = self._resolver.depot(name)
        except LookupError:
            return None
        kind = depot_kind(depot)
        conn = depot.depot.connection
        if kind == "file" and isinstance(conn, FileConnection) and not is_remote(conn.path):
            return FileSource(name, conn, self._local_storage(name), self._db)
        if kind == "lakehouse" and isinstance(conn, LakehouseConnection):
            return LakehouseSource(
                name,
                conn,
                self._local_storage(name),
                self._db,
                self._settings.lakehouse_check_seconds,
                self._clock,
            )
        if kind == "postgres" and isinstance(conn, JdbcConnection | PostgresConnection):
            ttl = self._settings.pg_ttl_seconds
            return PostgresSource(
                name, conn, self._resolver, self._redact, self._db, ttl, self._clock
            )
        return None

    def _local_storage(self, depot: str) -> Storage:
        """The storage roots of ``home``, read once (called under the lock)."""
        if self._storage is None:
            try:
                self._storage = Storage.from_env(self._home)
            except StorageError as exc:
                raise MinervaError(f"depot '{depot}' cannot be read: {exc}") from None
        return self._storage


def _attached_depots(cluster: Cluster) -> tuple[str, ...]:
    """The depots named by ``cluster.minerva.depots[].address``, in order, each once (the
    system depot ``caretaker`` is added after them, whatever a manifest names)."""
    names = [udl.depot for udl, path in cluster.depot_addresses() if path[1] == "minerva"]
    return tuple(n for n in dict.fromkeys(names) if n != HISTORY_DEPOT)
