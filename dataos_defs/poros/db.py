"""Engines for the store: SQLite on one machine, PostgreSQL in production.

Writes are serialized on both backends. SQLite gets ``BEGIN IMMEDIATE`` for write
transactions, because a deferred transaction that reads and then writes fails at once with
"database is locked" when another writer committed in between, whatever the busy timeout.
PostgreSQL gets a transaction-scoped advisory lock, so two applies never compute the same
next revision number. Reads never wait for writes (WAL on SQLite, MVCC on PostgreSQL).

Engines hide bound parameters in error messages and logs: they carry manifests.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

from dataos_defs.poros.errors import PorosError

BUSY_TIMEOUT_MS = 30_000
WRITE_OPTION = "dataos_write"
# An arbitrary constant naming the store's write lock among PostgreSQL advisory locks.
ADVISORY_LOCK_ID = 0x706F726F73


def normalize_url(url: str) -> str:
    """Accept libpq-style ``postgresql://``/``postgres://`` URLs and pick the psycopg driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str) -> Engine:
    """An engine configured for the store's access pattern on its backend."""
    parsed = make_url(normalize_url(url))
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed.render_as_string(hide_password=False), parsed.database)
    if parsed.get_backend_name() == "postgresql":
        engine = create_engine(parsed, pool_pre_ping=True, hide_parameters=True)
        event.listen(engine, "begin", _pg_begin)
        return engine
    raise PorosError(
        f"unsupported database URL scheme '{parsed.drivername}'",
        "use sqlite:///path/to/poros.db or postgresql://user:password@host/database",
    )


def _sqlite_engine(url: str, database: str | None) -> Engine:
    memory = not database or database == ":memory:"
    kwargs: dict[str, Any] = {
        "connect_args": {"check_same_thread": False},
        "hide_parameters": True,
    }
    if memory:
        kwargs["poolclass"] = StaticPool
    else:
        Path(database or "").parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, **kwargs)
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy emit BEGIN itself (see _sqlite_begin) instead of the sqlite3 module.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys = ON")
    try:
        _use_wal(cursor)
    finally:
        cursor.close()


def _use_wal(cursor: Any) -> None:
    """Switch a new database file to WAL (the mode then persists in the file).

    The switch needs the file to itself and SQLite does not wait on the busy timeout for
    it, so processes creating the same new store at once retry for a while.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
        return
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _sqlite_begin(conn: Connection) -> None:
    write = conn.get_execution_options().get(WRITE_OPTION, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _pg_begin(conn: Connection) -> None:
    if conn.get_execution_options().get(WRITE_OPTION, False):
        conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": ADVISORY_LOCK_ID})


def writer(engine: Engine) -> Engine:
    """The same engine, but its transactions take the store's write lock when they begin."""
    return engine.execution_options(**{WRITE_OPTION: True})


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    with writer(engine).begin() as conn:
        yield conn


MIGRATIONS = Path(__file__).parent / "migrations"


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration (``alembic upgrade head``), under the write
    lock so that concurrent first starts cannot both create the tables."""
    from alembic import command
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    with write_transaction(engine) as conn:
        if MigrationContext.configure(conn).get_current_revision() == head:
            return
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
