"""A PostgreSQL depot in the embedded engine: tables copied in when a query first reads them.

DuckDB has no PostgreSQL scanner here, so a table is read through ``COPY ... TO STDOUT``
(``adapters/postgres.py``) into Arrow and copied into DuckDB, the first time a query reads
it and again on the first read after the copy is older than the TTL
(``DATAOS_MINERVA_PG_TTL_SECONDS``, default 30 s). **Staleness**: a query sees each table
as it was when it was last copied, at most TTL seconds before the query started (plus the
copy's own duration); two tables of one query may come from different moments. Listing and
describing tables read ``information_schema`` only.

One session per depot, opened on first use with the depot's ``r`` credentials (fetched from
the resolver only then, and registered with the redactor before anything can fail) and
shared by the cluster's threads under a lock. A broken session is reopened on next use.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from dataos_defs.adapters import postgres
from dataos_defs.manifest.depot_types import JdbcConnection, PostgresConnection
from dataos_defs.minerva.duck import Database, Freshness
from dataos_defs.minerva.model import TableName
from dataos_defs.minerva.result import MinervaError
from dataos_defs.minerva.sources import Columns, gone
from dataos_defs.stacks.flare.model import DepotResolver, Redactor

_PUBLIC_KEYS = frozenset({"username", "user"})
_SYSTEM_SCHEMAS = ("pg_catalog", "information_schema")
_TYPES = {
    "boolean": "BOOLEAN",
    "smallint": "SMALLINT",
    "integer": "INTEGER",
    "bigint": "BIGINT",
    "oid": "BIGINT",
    "real": "FLOAT",
    "double precision": "DOUBLE",
    "date": "DATE",
    "time without time zone": "TIME",
    "timestamp without time zone": "TIMESTAMP",
    "timestamp with time zone": "TIMESTAMP WITH TIME ZONE",
}
"""PostgreSQL type -> DuckDB type, as ``adapters/postgres.py`` reads it; anything else is
read as text."""

_LIST_SQL = """
SELECT table_schema, table_name FROM information_schema.tables
WHERE table_schema <> ALL(%s) AND table_schema NOT LIKE 'pg\\_%%'
ORDER BY 1, 2"""
_COLUMNS_SQL = """
SELECT table_schema, table_name, column_name, data_type, numeric_precision, numeric_scale
FROM information_schema.columns
WHERE lower(table_schema) = %s AND lower(table_name) = %s
ORDER BY ordinal_position"""


def column_type(data_type: str, precision: int | None, scale: int | None) -> str:
    if data_type == "numeric":
        if precision and precision <= 38:
            return f"DECIMAL({precision},{scale or 0})"
        return "DECIMAL(38,18)"
    return _TYPES.get(data_type, "VARCHAR")


class PostgresSource:
    def __init__(
        self,
        depot: str,
        conn: JdbcConnection | PostgresConnection,
        resolver: DepotResolver,
        redact: Redactor,
        db: Database,
        ttl_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.depot = depot
        self._clock = clock
        self._conn = conn
        self._resolver = resolver
        self._redact = redact
        self._db = db
        self._ttl = ttl_seconds
        self._session: psycopg.Connection[Any] | None = None
        self._lock = threading.Lock()
        self._fresh = Freshness(clock)
        self._described: dict[tuple[str, str], tuple[float, tuple[tuple[str, str], Columns]]] = {}

    def datasets(self) -> list[tuple[str, str]]:
        with self._connected() as session:
            rows = session.execute(_LIST_SQL, (list(_SYSTEM_SCHEMAS),)).fetchall()
        return sorted({(str(s).lower(), str(t).lower()) for s, t in rows})

    def describe(self, collection: str, dataset: str) -> Columns | None:
        found = self._columns(collection, dataset)
        return None if found is None else found[1]

    def refresh(self, name: TableName, physical: str) -> None:
        key = name.dataset_id
        if self._fresh.current(key, physical, self._ttl):
            return
        with self._fresh.updating(key):
            if self._fresh.current(key, physical, self._ttl):
                return
            found = self._read_columns(name.collection, name.dataset)
            if found is None:
                raise gone(name)
            self._described[(name.collection, name.dataset)] = (self._clock(), found)
            (schema, table), columns = found
            with self._connected() as session:
                data = postgres.read_table(session, schema, table)
            self._db.replace_table(physical, data, columns)
            self._fresh.built(key, physical)

    def close(self) -> None:
        with self._lock:
            if self._session is not None:
                self._session.close()
                self._session = None

    def _columns(self, collection: str, dataset: str) -> tuple[tuple[str, str], Columns] | None:
        """The table's real (schema, name) and its columns, or None when it does not exist;
        kept for the TTL, like the data (a new table is seen at once)."""
        key = (collection.lower(), dataset.lower())
        known = self._described.get(key)
        if known is not None and self._clock() - known[0] < self._ttl:
            return known[1]
        found = self._read_columns(collection, dataset)
        if found is not None:
            self._described[key] = (self._clock(), found)
        return found

    def _read_columns(
        self, collection: str, dataset: str
    ) -> tuple[tuple[str, str], Columns] | None:
        with self._connected() as session:
            rows = session.execute(_COLUMNS_SQL, (collection.lower(), dataset.lower())).fetchall()
        if not rows:
            return None
        exact = [r for r in rows if (r[0], r[1]) == (collection, dataset)]
        chosen = exact or [r for r in rows if (r[0], r[1]) == (rows[0][0], rows[0][1])]
        columns = [(str(r[2]), column_type(str(r[3]), r[4], r[5])) for r in chosen]
        return (str(chosen[0][0]), str(chosen[0][1])), columns

    @contextmanager
    def _connected(self) -> Iterator[psycopg.Connection[Any]]:
        """The depot's session, for one exchange at a time; errors come out redacted."""
        with self._lock:
            try:
                if self._session is None or self._session.closed:
                    self._session = self._open()
                yield self._session
            except psycopg.Error as exc:
                if self._session is not None and self._session.broken:
                    self._session.close()
                    self._session = None
                problem = self._redact(str(exc).strip())
                raise MinervaError(f"PostgreSQL depot '{self.depot}': {problem}") from None

    def _open(self) -> psycopg.Connection[Any]:
        credentials = dict(self._resolver.credentials(self.depot, "r"))
        self._redact.add(v for k, v in credentials.items() if k not in _PUBLIC_KEYS)
        conn = self._conn
        info = postgres.conninfo(conn.host, conn.port, conn.database, conn.params, credentials)
        return postgres.connect(info)
