"""The embedded cluster's DuckDB database and the private schema its datasets live in.

Each dataset is reached under ``"__minerva__"."depot.collection.dataset"``: a schema no user
can name (the Gateway resolves only ``depot.collection.dataset`` names through the catalog,
and depot names cannot start with ``_``) and a table name with dots, which no three-part SQL
name produces. Files and lakehouse tables are views over DuckDB's own readers, so queries
scan them natively; data from other systems (PostgreSQL, object stores) is copied into a
table of the same name.

One database per cluster; every statement runs on its own ``cursor()`` (a connection to
the same database), which is what makes the engine safe to use from many threads. Schema
changes (views and tables being replaced) are serialized by one lock: they are rare, and
DuckDB reports concurrent catalog writes as conflicts.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import duckdb
import pyarrow as pa  # type: ignore[import-untyped]

from dataos_defs.adapters import duckdb_engine as engine
from dataos_defs.adapters.duckdb_engine import quote
from dataos_defs.minerva.model import TableName

PRIVATE_SCHEMA = "__minerva__"
_STAGED = "__minerva_staged__"


def physical_name(name: TableName) -> str:
    return f"{quote(PRIVATE_SCHEMA)}.{quote(name.dataset_id)}"


def sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def cast_select(columns: list[tuple[str, str]], source: str) -> str:
    """``SELECT CAST(c AS type) AS c, ... FROM source``: the declared columns, in order."""
    casts = ", ".join(f"CAST({quote(c)} AS {t}) AS {quote(c)}" for c, t in columns)
    return f"SELECT {casts} FROM {source}"


def empty_select(columns: list[tuple[str, str]]) -> str:
    """A query with the declared columns and no rows (a table without data files)."""
    nulls = ", ".join(f"CAST(NULL AS {t}) AS {quote(c)}" for c, t in columns)
    return f"SELECT {nulls} WHERE false"


class Database:
    def __init__(self) -> None:
        self._con = engine.connect()
        self._con.execute("SET GLOBAL TimeZone = 'UTC'")  # cursors take global settings
        self._con.execute(f"CREATE SCHEMA {quote(PRIVATE_SCHEMA)}")
        # No statement may change a setting from here on (the Gateway refuses SET too).
        self._con.execute("SET GLOBAL lock_configuration = true")
        self._ddl = threading.Lock()

    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        cur = self._con.cursor()
        try:
            yield cur
        finally:
            cur.close()

    def open_cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor the caller closes (a result being fetched page by page)."""
        return self._con.cursor()

    def describe(self, query: str) -> list[tuple[str, str]]:
        """``(column, DuckDB type)`` of a query, without running it."""
        with self.cursor() as cur:
            rows = cur.execute(f"DESCRIBE {query}").fetchall()
        return [(str(r[0]), str(r[1])) for r in rows]

    def replace_view(self, physical: str, query: str) -> None:
        with self._ddl, self.cursor() as cur:
            cur.execute(f"CREATE OR REPLACE VIEW {physical} AS {query}")

    def replace_table(self, physical: str, data: pa.Table, columns: list[tuple[str, str]]) -> None:
        """Copy Arrow data into a table with the declared columns and types."""
        with self._ddl, self.cursor() as cur:
            cur.register(_STAGED, data)
            try:
                cur.execute(
                    f"CREATE OR REPLACE TABLE {physical} AS " + cast_select(columns, quote(_STAGED))
                )
            finally:
                cur.unregister(_STAGED)

    def close(self) -> None:
        self._con.close()


class Freshness:
    """Per dataset: a lock, and what the physical object was last built from (a metadata
    location, a reader query) and when; so a dataset is rebuilt by one thread at a time and
    only when its source changed or its copy is too old."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._built: dict[str, tuple[object, float]] = {}

    @contextmanager
    def updating(self, key: str) -> Iterator[None]:
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            yield

    def current(self, key: str, token: object, max_age: float | None = None) -> bool:
        """Whether the object was built from ``token`` (and, with ``max_age``, recently)."""
        built = self._built.get(key)
        if built is None or built[0] != token:
            return False
        return max_age is None or self._clock() - built[1] < max_age

    def built(self, key: str, token: object) -> None:
        self._built[key] = (token, self._clock())

    def forget(self, key: str) -> None:
        self._built.pop(key, None)
