"""Where a UDL's data lives, and the connections a run opens to reach it.

A run opens at most one PostgreSQL session per (depot, acl) and one Iceberg catalog per
depot, and closes them when it ends. Credentials are fetched from the resolver only when a
connection is opened and are registered with the run's redactor first, so no error message
can carry them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import psycopg
from pyiceberg.catalog import Catalog

from dataos_defs.adapters import iceberg, postgres
from dataos_defs.manifest.depot import Depot
from dataos_defs.manifest.depot_types import (
    FileConnection,
    JdbcConnection,
    LakehouseConnection,
    PostgresConnection,
)
from dataos_defs.manifest.udl import Udl
from dataos_defs.stacks.flare.model import DepotResolver, FlareError, Redactor

Kind = Literal["postgres", "file", "lakehouse"]
_PUBLIC_KEYS = frozenset({"username", "user"})


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
    return "://" in path and not path.startswith("file://")


class Sources:
    """Depots, credentials and open connections of one run."""

    def __init__(self, resolver: DepotResolver, home: Path, redact: Redactor) -> None:
        self.resolver = resolver
        self.home = home
        self.redact = redact
        self._pg: dict[tuple[str, str], psycopg.Connection[Any]] = {}
        self._catalogs: dict[str, Catalog] = {}

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
        if loc.depot_name not in self._catalogs:
            conn = loc.depot.depot.connection
            assert isinstance(conn, LakehouseConnection)
            warehouse: Path | str = conn.warehouse
            if not is_remote(conn.warehouse):
                warehouse = self.home / conn.warehouse.removeprefix("file://")
            name = conn.catalog or loc.depot_name
            self._catalogs[loc.depot_name] = iceberg.open_catalog(name, warehouse, conn.uri)
        return self._catalogs[loc.depot_name]

    def file_path(self, loc: Location) -> tuple[str, FileConnection]:
        """The dataset's path without extension: ``<depot path>[/<collection>]/<dataset>``.

        Relative depot paths are taken relative to ``DATAOS_HOME``; the literal collection
        ``none`` marks a flat folder.
        """
        conn = loc.depot.depot.connection
        assert isinstance(conn, FileConnection)
        base = conn.path.rstrip("/")
        if not is_remote(base):
            base = str(self.home / base.removeprefix("file://"))
        parts = [base] if loc.collection == "none" else [base, loc.collection]
        return "/".join([*parts, loc.dataset]), conn

    def close(self) -> None:
        for conn in self._pg.values():
            conn.close()
        self._pg.clear()


@contextmanager
def opened(resolver: DepotResolver, home: Path, redact: Redactor) -> Iterator[Sources]:
    sources = Sources(resolver, home, redact)
    try:
        yield sources
    finally:
        sources.close()
