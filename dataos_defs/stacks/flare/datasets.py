"""Where a UDL's data lives, and the connections a run opens to reach it.

A run opens at most one PostgreSQL session per (depot, acl) and one Iceberg catalog per
depot, and closes them when it ends. Credentials are fetched from the resolver only when a
connection is opened and are registered with the run's redactor first, so no error message
can carry them.

Local depot folders are confined (``adapters.localfs``) on every read and write: a FILE
path or LAKEHOUSE warehouse outside the storage roots, in the platform's state or reached
through a symbolic link is refused, and so is a dataset path (or a file of an Iceberg
table) that resolves outside its depot's real folder. A refusal is a FlareError naming the
depot, the path and the rule. Object-store paths (``s3://``, ``gs://``, ``abfss://``, ...)
are left to the store's own access control.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import unquote, urlparse

import psycopg
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchNamespaceError, NoSuchTableError

from dataos_defs.adapters import iceberg, postgres
from dataos_defs.adapters.localfs import ConfinementError, Storage, StorageError
from dataos_defs.manifest.depot import Depot
from dataos_defs.manifest.depot_locations import path_kind, sqlite_file
from dataos_defs.manifest.depot_types import (
    FileConnection,
    JdbcConnection,
    LakehouseConnection,
    PostgresConnection,
)
from dataos_defs.manifest.udl import Udl
from dataos_defs.stacks.flare.model import DepotResolver, FlareError, Governor, Redactor

Kind = Literal["postgres", "file", "lakehouse"]
_T = TypeVar("_T")
_PUBLIC_KEYS = frozenset({"username", "user"})
_FILE_EXTENSIONS = (".csv", ".parquet", ".json")


@dataclass(frozen=True)
class CatalogPlace:
    """Where a lakehouse depot's catalog is opened: the real warehouse folder (or an
    object-store URI) and the catalog URI (a SQLite file as its real path)."""

    warehouse: Path | str
    uri: str | None


def catalog_place(conn: LakehouseConnection, storage: Storage) -> CatalogPlace:
    """The confined warehouse and catalog of a lakehouse depot; raises StorageError."""
    warehouse: Path | str = conn.warehouse
    if path_kind(conn.warehouse) != "remote":
        warehouse = storage.confine(conn.warehouse)
    uri = conn.uri
    if uri is not None:
        try:
            file = sqlite_file(uri)
        except ValueError as exc:
            raise ConfinementError(
                uri, "scheme", "unsupported SQLite catalog URI", str(exc)
            ) from None
        if file:
            uri = f"sqlite:///{storage.confine(file)}"
    return CatalogPlace(warehouse, uri)


@dataclass(frozen=True)
class Location:
    """A dataset resolved to its depot: ``kind`` says which adapter reads or writes it."""

    depot_name: str
    depot: Depot
    kind: Kind
    collection: str
    dataset: str
    acl: str

    @property
    def address(self) -> str:
        return f"dataos://{self.depot_name}:{self.collection}/{self.dataset}"

    @property
    def asset_key(self) -> tuple[str, str, str]:
        return (self.depot_name, self.collection, self.dataset)


def depot_kind(depot: Depot) -> Kind | None:
    section = depot.depot
    conn = section.connection
    if section.type in ("POSTGRESQL", "POSTGRES"):
        return "postgres"
    if section.type == "JDBC" and isinstance(conn, JdbcConnection | PostgresConnection):
        return "postgres" if conn.subprotocol in ("postgresql", "postgres") else None
    if section.type == "FILE":
        return "file"
    if section.type in ("LAKEHOUSE", "ICEBERG"):
        return "lakehouse"
    return None


def is_remote(path: str) -> bool:
    """An object-store path (``s3://``, ``gs://``, ...); anything else is a local path,
    confined before use (a scheme no reader confines is refused there)."""
    return path_kind(path) == "remote"


class Sources:
    """Depots, credentials and open connections of one run."""

    def __init__(
        self,
        resolver: DepotResolver,
        home: Path,
        redact: Redactor,
        governor: Governor | None = None,
    ) -> None:
        self.resolver = resolver
        self.home = home
        self.redact = redact
        self.governor = governor
        """Governs what the run reads (``inputs.load_dataset``); None runs ungoverned."""
        self._pg: dict[tuple[str, str], psycopg.Connection[Any]] = {}
        self._catalogs: dict[str, tuple[CatalogPlace, Catalog]] = {}
        self._storage: Storage | None = None

    def locate(self, address: str, where: str, *, default_acl: str = "r") -> Location:
        try:
            udl = Udl.parse(address)
        except ValueError as exc:
            raise FlareError(where, str(exc)) from None
        if udl.collection is None or udl.dataset is None:
            raise FlareError(where, f"'{address}' names no dataset (dataos://depot:coll/ds)")
        try:
            depot = self.resolver.depot(udl.depot)
        except LookupError:
            raise FlareError(where, f"depot '{udl.depot}' is not defined") from None
        kind = depot_kind(depot)
        if kind is None:
            raise FlareError(
                where,
                f"depot '{udl.depot}' of type {depot.depot.type} is not supported by the "
                "DuckDB flare runner (supported: POSTGRESQL, JDBC postgresql, FILE, LAKEHOUSE)",
            )
        acl = udl.acl or default_acl
        return Location(udl.depot, depot, kind, udl.collection, udl.dataset, acl)

    def _credentials(self, loc: Location) -> dict[str, str]:
        creds = dict(self.resolver.credentials(loc.depot_name, loc.acl))
        self.redact.add(v for k, v in creds.items() if k not in _PUBLIC_KEYS)
        return creds

    def postgres(self, loc: Location) -> psycopg.Connection[Any]:
        key = (loc.depot_name, loc.acl)
        if key not in self._pg:
            conn = loc.depot.depot.connection
            assert isinstance(conn, JdbcConnection | PostgresConnection)
            info = postgres.conninfo(
                conn.host, conn.port, conn.database, conn.params, self._credentials(loc)
            )
            self._pg[key] = postgres.connect(info)
        return self._pg[key]

    def catalog(self, loc: Location) -> Catalog:
        """The depot's catalog, confined now; the files of the dataset's table (if it
        exists) must resolve inside a local warehouse."""
        conn = loc.depot.depot.connection
        assert isinstance(conn, LakehouseConnection)
        place = self._confined(loc, lambda storage: catalog_place(conn, storage))
        cached = self._catalogs.get(loc.depot_name)
        if cached is None or cached[0] != place:
            name = conn.catalog or loc.depot_name
            cached = (place, iceberg.open_catalog(name, place.warehouse, place.uri))
            self._catalogs[loc.depot_name] = cached
        self._check_table(loc, cached[1], place, conn.warehouse)
        return cached[1]

    def file_path(self, loc: Location) -> tuple[str, FileConnection]:
        """The dataset's path without extension: ``<depot path>[/<collection>]/<dataset>``.

        Relative depot paths are taken relative to ``DATAOS_HOME``; the literal collection
        ``none`` marks a flat folder. A local path is the real one, and the dataset's path,
        its single files and the links in its folder all stay inside the depot's folder.
        """
        conn = loc.depot.depot.connection
        assert isinstance(conn, FileConnection)
        if is_remote(conn.path):
            base = conn.path.rstrip("/")
            parts = [base] if loc.collection == "none" else [base, loc.collection]
            return "/".join([*parts, loc.dataset]), conn
        root = self._confined(loc, lambda storage: storage.confine(conn.path))
        folder = root if loc.collection == "none" else root / loc.collection
        path = folder / loc.dataset
        self._confined(loc, lambda storage: _dataset_within(storage, root, path, conn.path))
        return str(path), conn

    def close(self) -> None:
        for conn in self._pg.values():
            conn.close()
        self._pg.clear()

    def _confined(self, loc: Location, check: Callable[[Storage], _T]) -> _T:
        """``check`` run against the run's storage roots; a refusal is a FlareError."""
        try:
            if self._storage is None:
                self._storage = Storage.from_env(self.home)
            return check(self._storage)
        except StorageError as exc:
            raise FlareError(f"depot '{loc.depot_name}'", f"refused: {exc}") from None

    def _check_table(self, loc: Location, catalog: Catalog, place: CatalogPlace, text: str) -> None:
        """The metadata, data and delete files of the dataset's Iceberg table stay inside
        its warehouse (nothing to check while the table does not exist)."""
        try:
            table = catalog.load_table((loc.collection, loc.dataset))
        except (NoSuchTableError, NoSuchNamespaceError):
            return
        locations = [table.metadata_location]
        for task in table.scan().plan_files():
            locations.append(task.file.file_path)
            locations.extend(delete.file_path for delete in task.delete_files)
        self._confined(
            loc, lambda storage: [table_file(storage, place, x, text) for x in locations]
        )


def _dataset_within(storage: Storage, root: Path, path: Path, text: str) -> None:
    """A file dataset's path, its single files (``<path>.<ext>``) and every link under its
    folder resolve inside the depot's real folder ``root``."""
    real = storage.within(root, path, text)
    for ext in _FILE_EXTENSIONS:
        storage.within(root, f"{path}{ext}", text)
    if real.is_dir():
        storage.tree_within(root, real, text)


def table_file(storage: Storage, place: CatalogPlace, location: str, text: str) -> str | None:
    """The real local path of an Iceberg table file (None for an object-store file). A local
    file must resolve inside a local warehouse; a table of an object-store warehouse reads
    no local file. Raises StorageError."""
    parsed = urlparse(location)
    if parsed.scheme not in ("", "file"):
        return None
    path = unquote(parsed.path)
    if not isinstance(place.warehouse, Path):
        raise ConfinementError(
            text,
            "outside",
            f"{path} is a local file of a table in the object-store warehouse {text}",
            "a table's files live in its own warehouse",
        )
    return str(storage.within(place.warehouse, path, text))


@contextmanager
def opened(
    resolver: DepotResolver, home: Path, redact: Redactor, governor: Governor | None = None
) -> Iterator[Sources]:
    sources = Sources(resolver, home, redact, governor)
    try:
        yield sources
    finally:
        sources.close()
